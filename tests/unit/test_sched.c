/*  test_sched.c: the scheduler's pure core (services/scheduler/sched_pick):
 *  every filter reason, Kubernetes' unschedulable message, toleration
 *  matching, host ports, and the scoring order (spread, balanced, least
 *  allocated, name). Objects come from YAML through the manifest loader.
 */
#include "hs_manifest.h"
#include "hs_test.h"
#include "hs_util.h"
#include "hs_workload.h"
#include "sched_pick.h"

#include <errno.h>
#include <stdlib.h>

/* Objects parsed from YAML, freed at the end of each test. */
static hs_manifest_t s_docs;

static const Hs__Object *s_load (const char *yaml)
{
    size_t before = s_docs.n;
    char *err = NULL;
    int r = hs_manifest_parse (yaml, strlen (yaml), "test", &s_docs, &err);
    if (r < 0) fprintf (stderr, "  manifest: %s\n", err);
    free (err);
    CHECK_EQ_INT (r, 0);
    CHECK_EQ_INT (s_docs.n, before + 1);
    return r == 0 ? s_docs.docs[s_docs.n - 1].object : NULL;
}

static void s_reset (void)
{
    hs_manifest_free (&s_docs);
    memset (&s_docs, 0, sizeof s_docs);
}

/* A Ready node with allocatable cpu/memory (pods: "" = not reported) and extra
 * YAML under spec (taints, unschedulable) and metadata (labels). */
static const Hs__Node *s_node (const char *name, const char *cpu, const char *mem, const char *pods,
                               const char *meta_extra, const char *spec_extra, const char *ready)
{
    _cleanup_free_ char *pods_line =
        hs_empty (pods) ? hs_strdup ("") : hs_sprintf ("    pods: \"%s\"\n", pods);
    _cleanup_free_ char *y = hs_sprintf (
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n%s"
        "spec:\n%s"
        "status:\n  allocatable:\n    cpu: \"%s\"\n    memory: "
        "\"%s\"\n%s"
        "  conditions:\n  - type: Ready\n    status: \"%s\"\n",
        name, hs_s (meta_extra), hs_empty (spec_extra) ? "  unschedulable: false\n" : spec_extra,
        cpu, mem, pods_line, ready ? ready : "True");
    const Hs__Object *o = s_load (y);
    return o ? o->node : NULL;
}

/* A pod requesting cpu/memory ("" = nothing), with extra YAML under spec and
 * under its container, and an optional node and controller uid. */
static const Hs__Pod *s_pod (const char *name, const char *cpu, const char *mem,
                             const char *spec_extra, const char *container_extra, const char *node,
                             const char *owner_uid)
{
    hs_buf_t b = {0};
    hs_buf_printf (&b, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: default\n",
                   name);
    if (owner_uid)
        hs_buf_printf (&b,
                       "  ownerReferences:\n  - apiVersion: apps/v1\n    kind: ReplicaSet\n"
                       "    name: rs\n    uid: %s\n    controller: true\n",
                       owner_uid);
    hs_buf_printf (&b, "spec:\n%s", hs_s (spec_extra));
    if (node) hs_buf_printf (&b, "  nodeName: %s\n", node);
    hs_buf_printf (&b, "  containers:\n  - name: c\n    command: [\"true\"]\n%s",
                   hs_s (container_extra));
    if (!hs_empty (cpu) || !hs_empty (mem)) {
        hs_buf_printf (&b, "    resources:\n      requests:\n");
        if (!hs_empty (cpu)) hs_buf_printf (&b, "        cpu: \"%s\"\n", cpu);
        if (!hs_empty (mem)) hs_buf_printf (&b, "        memory: \"%s\"\n", mem);
    }
    _cleanup_free_ char *y = hs_buf_take (&b);
    const Hs__Object *o = s_load (y);
    return o ? o->pod : NULL;
}

static sched_cluster_t *s_cluster (const Hs__Node **nodes, size_t n)
{
    return sched_cluster_new (nodes, n);
}

/* The one reason node `name` gives for pod, or "" if it fits. */
static const char *s_reason (const sched_cluster_t *c, const char *name, const Hs__Pod *pod,
                             sched_why_t *why)
{
    int i = sched_cluster_find (c, name);
    CHECK (i >= 0);
    if (i < 0) return "?";
    if (sched_filter (c, (size_t)i, pod, why)) return "";
    CHECK (why->n >= 1);
    return why->n ? why->reasons[0] : "?";
}

/* ------------------------------------------------------------------ filters */

static void test_reasons (void)
{
    const Hs__Node *nodes[] = {
        s_node ("ok", "2", "4Gi", "", NULL, NULL, NULL),
        s_node ("notready", "2", "4Gi", "", NULL, NULL, "False"),
        s_node ("cordoned", "2", "4Gi", "", NULL, "  unschedulable: true\n", NULL),
        s_node ("tainted", "2", "4Gi", "", NULL,
                "  taints:\n  - key: dedicated\n    value: gpu\n    effect: NoSchedule\n", NULL),
        s_node ("small", "500m", "256Mi", "", NULL, NULL, NULL),
        s_node ("full", "2", "4Gi", "1", NULL, NULL, NULL),
        s_node ("labelled", "2", "4Gi", "", "  labels:\n    disk: ssd\n", NULL, NULL),
    };
    sched_cluster_t *c = s_cluster (nodes, HS_ARRAY_LEN (nodes));
    CHECK_EQ_INT (sched_cluster_size (c), 7);
    CHECK_EQ_STR (sched_cluster_node_name (c, 0), "cordoned"); /* sorted by name */
    CHECK_EQ_INT (sched_cluster_find (c, "nope"), -1);
    /* one pod already on "full" (pods: 1) */
    CHECK_EQ_INT (
        sched_cluster_add_pod (c, s_pod ("there", "", "", NULL, NULL, "full", NULL), NULL), 0);
    CHECK_EQ_INT (sched_cluster_add_pod (c, s_pod ("lost", "", "", NULL, NULL, "gone", NULL), NULL),
                  -ENOENT);

    sched_why_t why;
    const Hs__Pod *p = s_pod ("p", "1", "512Mi", NULL, NULL, NULL, NULL);
    CHECK_EQ_STR (s_reason (c, "ok", p, &why), "");
    CHECK_EQ_STR (s_reason (c, "labelled", p, &why), "");
    CHECK_EQ_STR (s_reason (c, "notready", p, &why), "node(s) were not ready");
    CHECK_EQ_STR (s_reason (c, "cordoned", p, &why), "node(s) were unschedulable");
    CHECK_EQ_STR (s_reason (c, "tainted", p, &why),
                  "node(s) had untolerated taint {dedicated: gpu}");
    CHECK_EQ_STR (s_reason (c, "full", p, &why), "Too many pods");
    CHECK_EQ_INT (why.n, 1);
    /* a node may fail for several resources at once */
    CHECK_EQ_STR (s_reason (c, "small", p, &why), "Insufficient cpu");
    CHECK_EQ_INT (why.n, 2);
    CHECK_EQ_STR (why.reasons[1], "Insufficient memory");

    const Hs__Pod *sel =
        s_pod ("sel", "", "", "  nodeSelector:\n    disk: ssd\n", NULL, NULL, NULL);
    CHECK_EQ_STR (s_reason (c, "ok", sel, &why),
                  "node(s) didn't match Pod's node affinity/selector");
    CHECK_EQ_STR (s_reason (c, "labelled", sel, &why), "");
    const Hs__Pod *sel2 =
        s_pod ("sel2", "", "", "  nodeSelector:\n    disk: hdd\n", NULL, NULL, NULL);
    CHECK_EQ_STR (s_reason (c, "labelled", sel2, &why),
                  "node(s) didn't match Pod's node affinity/selector");

    /* exactly full is still a fit; one more milli is not */
    const Hs__Pod *two = s_pod ("two", "2", "4Gi", NULL, NULL, NULL, NULL);
    CHECK_EQ_STR (s_reason (c, "ok", two, &why), "");
    const Hs__Pod *more = s_pod ("more", "2001m", "", NULL, NULL, NULL, NULL);
    CHECK_EQ_STR (s_reason (c, "ok", more, &why), "Insufficient cpu");
    CHECK_EQ_INT (why.n, 1);
    sched_cluster_destroy (&c);
    CHECK (c == NULL);
    s_reset ();
}

static void test_requests_accounting (void)
{
    const Hs__Node *nodes[] = {s_node ("n", "1", "1Gi", "", NULL, NULL, NULL)};
    sched_cluster_t *c = s_cluster (nodes, 1);
    const Hs__Pod *a = s_pod ("a", "300m", "100Mi", NULL, NULL, "n", NULL);
    hs_resources_t want;
    hs_pod_requests (a, &want);
    CHECK_EQ_INT (want.cpu_milli, 300);
    CHECK_EQ_INT (want.mem_bytes, 100LL << 20);
    sched_req_t r;
    CHECK_EQ_INT (sched_cluster_add_pod (c, a, NULL), 0);
    /* a finished pod holds nothing */
    const Hs__Object *done = s_load ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: done\n"
                                     "spec:\n  nodeName: n\n  containers:\n  - name: c\n"
                                     "    command: [x]\n    resources:\n      requests:\n"
                                     "        cpu: 900m\nstatus:\n  phase: Succeeded\n");
    CHECK (hs_pod_terminal (done->pod));
    CHECK_EQ_INT (sched_cluster_add_pod (c, done->pod, NULL), 0);
    /* an assumed bind: counted on the node given, not its own (empty) nodeName */
    const Hs__Pod *b = s_pod ("b", "300m", "", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT (sched_cluster_add_pod (c, b, NULL), -ENOENT);
    CHECK_EQ_INT (sched_cluster_add_pod (c, b, "n"), 0);
    int64_t pods;
    sched_cluster_used (c, 0, &r, &pods);
    CHECK_EQ_INT (r.cpu_milli, 600);
    CHECK_EQ_INT (r.mem_bytes, 100LL << 20);
    CHECK_EQ_INT (pods, 2);
    sched_why_t why;
    CHECK_EQ_STR (s_reason (c, "n", s_pod ("c", "400m", "", NULL, NULL, NULL, NULL), &why), "");
    CHECK_EQ_STR (s_reason (c, "n", s_pod ("d", "401m", "", NULL, NULL, NULL, NULL), &why),
                  "Insufficient cpu");
    /* a node reporting nothing is unlimited (as the store's bind has it) */
    const Hs__Object *bare = s_load ("apiVersion: v1\nkind: Node\nmetadata:\n  name: bare\n"
                                     "status:\n  conditions:\n  - type: Ready\n    status: "
                                     "\"True\"\n");
    const Hs__Node *bn[] = {bare->node};
    sched_cluster_t *c2 = s_cluster (bn, 1);
    CHECK_EQ_STR (s_reason (c2, "bare", s_pod ("e", "64", "1Ti", NULL, NULL, NULL, NULL), &why),
                  "");
    /* capacity when there is no allocatable */
    const Hs__Object *cap = s_load ("apiVersion: v1\nkind: Node\nmetadata:\n  name: cap\n"
                                    "status:\n  capacity:\n    cpu: 100m\n  conditions:\n"
                                    "  - type: Ready\n    status: \"True\"\n");
    const Hs__Node *cn[] = {cap->node};
    sched_cluster_t *c3 = s_cluster (cn, 1);
    CHECK_EQ_STR (s_reason (c3, "cap", s_pod ("f", "200m", "", NULL, NULL, NULL, NULL), &why),
                  "Insufficient cpu");
    /* no Ready condition at all: not ready */
    const Hs__Object *nocond = s_load ("apiVersion: v1\nkind: Node\nmetadata:\n  name: nocond\n");
    CHECK (!sched_node_ready (nocond->node));
    sched_cluster_destroy (&c);
    sched_cluster_destroy (&c2);
    sched_cluster_destroy (&c3);
    sched_cluster_destroy (&c3); /* NULL-safe */
    s_reset ();
}

static void test_tolerations (void)
{
    Hs__Taint taint = HS__TAINT__INIT;
    taint.key = "k";
    taint.value = "v";
    taint.effect = "NoSchedule";
    struct {
        const char *key, *op, *value, *effect;
        bool want;
    } cases[] = {
        {"k", "Equal", "v", "NoSchedule", true},
        {"k", "", "v", "NoSchedule", true}, /* empty operator is Equal */
        {"k", "Equal", "v", "", true},      /* empty effect matches all */
        {"k", "Equal", "w", "NoSchedule", false},
        {"k", "Equal", "v", "NoExecute", false},
        {"k", "Exists", "", "", true},
        {"k", "Exists", "", "NoSchedule", true},
        {"k", "Exists", "", "NoExecute", false},
        {"other", "Exists", "", "", false},
        {"", "Exists", "", "", true}, /* empty key with Exists tolerates everything */
        {"", "Exists", "", "NoExecute", false},
        {"k", "Bogus", "v", "", false},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        Hs__Toleration t = HS__TOLERATION__INIT;
        t.key = (char *)cases[i].key;
        t.operator_ = (char *)cases[i].op;
        t.value = (char *)cases[i].value;
        t.effect = (char *)cases[i].effect;
        bool got = sched_tolerates (&t, &taint);
        if (got != cases[i].want) fprintf (stderr, "  toleration case %zu\n", i);
        CHECK (got == cases[i].want);
    }

    /* through the filter: PreferNoSchedule never filters; NoExecute does */
    const Hs__Node *nodes[] = {
        s_node ("a", "1", "1Gi", "", NULL,
                "  taints:\n  - key: soft\n    effect: PreferNoSchedule\n"
                "  - key: hard\n    value: \"1\"\n    effect: NoExecute\n",
                NULL),
    };
    sched_cluster_t *c = s_cluster (nodes, 1);
    sched_why_t why;
    CHECK_EQ_STR (s_reason (c, "a", s_pod ("p", "", "", NULL, NULL, NULL, NULL), &why),
                  "node(s) had untolerated taint {hard: 1}");
    const Hs__Pod *tol = s_pod ("t", "", "",
                                "  tolerations:\n  - key: hard\n    operator: Exists\n"
                                "    effect: NoExecute\n",
                                NULL, NULL, NULL);
    CHECK_EQ_STR (s_reason (c, "a", tol, &why), "");
    const Hs__Pod *all =
        s_pod ("all", "", "", "  tolerations:\n  - operator: Exists\n", NULL, NULL, NULL);
    CHECK_EQ_STR (s_reason (c, "a", all, &why), "");
    sched_cluster_destroy (&c);
    s_reset ();
}

static void test_host_ports (void)
{
    const Hs__Node *nodes[] = {s_node ("n", "4", "4Gi", "", NULL, NULL, NULL)};
    sched_cluster_t *c = s_cluster (nodes, 1);
    const Hs__Pod *web =
        s_pod ("web", "", "", NULL, "    ports:\n    - containerPort: 80\n      hostPort: 8080\n",
               "n", NULL);
    CHECK_EQ_INT (sched_cluster_add_pod (c, web, NULL), 0);
    sched_why_t why;
    const char *clash = "node(s) didn't have free ports for the requested pod ports";
    /* same port, protocol defaults to TCP on both sides */
    CHECK_EQ_STR (s_reason (c, "n",
                            s_pod ("a", "", "", NULL,
                                   "    ports:\n    - containerPort: 81\n      hostPort: 8080\n"
                                   "      protocol: TCP\n",
                                   NULL, NULL),
                            &why),
                  clash);
    /* UDP on the same number is another port */
    CHECK_EQ_STR (s_reason (c, "n",
                            s_pod ("b", "", "", NULL,
                                   "    ports:\n    - containerPort: 81\n      hostPort: 8080\n"
                                   "      protocol: UDP\n",
                                   NULL, NULL),
                            &why),
                  "");
    /* another host port, and a container port alone, are free */
    CHECK_EQ_STR (s_reason (c, "n",
                            s_pod ("c", "", "", NULL,
                                   "    ports:\n    - containerPort: 8080\n"
                                   "    - containerPort: 81\n      hostPort: 8081\n",
                                   NULL, NULL),
                            &why),
                  "");
    /* a specific host IP clashes with the wildcard the first pod took */
    CHECK_EQ_STR (s_reason (c, "n",
                            s_pod ("d", "", "", NULL,
                                   "    ports:\n    - containerPort: 81\n      hostPort: 8080\n"
                                   "      hostIP: 127.0.0.1\n",
                                   NULL, NULL),
                            &why),
                  clash);
    sched_cluster_destroy (&c);

    /* two different specific IPs do not clash */
    c = s_cluster (nodes, 1);
    sched_cluster_add_pod (c,
                           s_pod ("e", "", "", NULL,
                                  "    ports:\n    - containerPort: 1\n      hostPort: 9000\n"
                                  "      hostIP: 10.0.0.1\n",
                                  "n", NULL),
                           NULL);
    CHECK_EQ_STR (s_reason (c, "n",
                            s_pod ("f", "", "", NULL,
                                   "    ports:\n    - containerPort: 1\n      hostPort: 9000\n"
                                   "      hostIP: 10.0.0.2\n",
                                   NULL, NULL),
                            &why),
                  "");
    sched_cluster_destroy (&c);
    s_reset ();
}

/* ------------------------------------------------------------------ the message */

static void test_message (void)
{
    /* 3 nodes: 2 too small for the memory, 1 without the label */
    const Hs__Node *n2[] = {
        s_node ("a", "4", "1Gi", "", "  labels:\n    zone: x\n", NULL, NULL),
        s_node ("b", "4", "1Gi", "", "  labels:\n    zone: x\n", NULL, NULL),
        s_node ("c", "4", "8Gi", "", NULL, NULL, NULL),
    };
    sched_cluster_t *c = s_cluster (n2, 3);
    const Hs__Pod *p = s_pod ("p", "1", "2Gi", "  nodeSelector:\n    zone: x\n", NULL, NULL, NULL);
    const char *node = NULL;
    char *msg = NULL;
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), -ENOSPC);
    /* kube-scheduler sorts the "COUNT REASON" strings */
    CHECK_EQ_STR (msg, "0/3 nodes are available: 1 node(s) didn't match Pod's node "
                       "affinity/selector, 2 Insufficient memory.");
    free (msg);
    sched_cluster_destroy (&c);

    /* a node counts for each of its reasons */
    const Hs__Node *n3[] = {
        s_node ("a", "1", "1Gi", "", NULL, NULL, NULL),
        s_node ("b", "1", "1Gi", "", NULL, NULL, "Unknown"),
        s_node ("c", "1", "1Gi", "", NULL, "  unschedulable: true\n", NULL),
        s_node ("d", "1", "4Gi", "", NULL, NULL, NULL),
    };
    c = s_cluster (n3, 4);
    p = s_pod ("big", "2", "2Gi", NULL, NULL, NULL, NULL);
    msg = NULL;
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), -ENOSPC);
    CHECK_EQ_STR (msg, "0/4 nodes are available: 1 Insufficient memory, 1 node(s) were not ready, "
                       "1 node(s) were unschedulable, 2 Insufficient cpu.");
    free (msg);
    sched_cluster_destroy (&c);

    /* no nodes at all: kube's ErrNoNodesAvailable */
    c = s_cluster (NULL, 0);
    msg = NULL;
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), -ENOSPC);
    CHECK_EQ_STR (msg, "no nodes available to schedule pods");
    free (msg);
    sched_cluster_destroy (&c);

    /* one fits: no message */
    const Hs__Node *n4[] = {s_node ("only", "4", "4Gi", "", NULL, NULL, NULL)};
    c = s_cluster (n4, 1);
    msg = NULL;
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), 0);
    CHECK_EQ_STR (node, "only");
    CHECK (msg == NULL);
    sched_cluster_destroy (&c);
    s_reset ();
}

/* ------------------------------------------------------------------ scores */

static void test_spread (void)
{
    const Hs__Node *nodes[] = {
        s_node ("a", "4", "4Gi", "", NULL, NULL, NULL),
        s_node ("b", "4", "4Gi", "", NULL, NULL, NULL),
        s_node ("c", "4", "4Gi", "", NULL, NULL, NULL),
    };
    sched_cluster_t *c = s_cluster (nodes, 3);
    /* a has one pod of rs1 and nothing else; b has a bigger pod of another owner */
    sched_cluster_add_pod (c, s_pod ("r1", "100m", "100Mi", NULL, NULL, "a", "uid-1"), NULL);
    sched_cluster_add_pod (c, s_pod ("x", "1", "1Gi", NULL, NULL, "b", "uid-2"), NULL);
    const char *node = NULL;
    char *msg = NULL;
    /* an rs1 pod: a has one of its siblings; b and c none; c is emptier */
    const Hs__Pod *p = s_pod ("r2", "100m", "100Mi", NULL, NULL, NULL, "uid-1");
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), 0);
    CHECK_EQ_STR (node, "c");
    sched_cluster_add_pod (c, p, node);
    /* now a and c have one each, b none: b wins although it is fuller */
    p = s_pod ("r3", "100m", "100Mi", NULL, NULL, NULL, "uid-1");
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), 0);
    CHECK_EQ_STR (node, "b");
    sched_cluster_add_pod (c, p, node);
    /* one each everywhere: then by allocation, a is the emptiest */
    p = s_pod ("r4", "100m", "100Mi", NULL, NULL, NULL, "uid-1");
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), 0);
    CHECK_EQ_STR (node, "a");
    sched_score_t sa, sb;
    sched_score (c, 0, p, &sa);
    sched_score (c, 1, p, &sb);
    CHECK_EQ_INT (sa.spread, 1);
    CHECK_EQ_INT (sb.spread, 1);
    CHECK (sched_score_cmp (&sa, &sb) < 0);
    CHECK (sched_score_cmp (&sb, &sa) > 0);
    CHECK_EQ_INT (sched_score_cmp (&sa, &sa), 0);
    /* a pod without an owner does not spread */
    sched_score (c, 0, s_pod ("lone", "", "", NULL, NULL, NULL, NULL), &sa);
    CHECK_EQ_INT (sa.spread, 0);
    sched_cluster_destroy (&c);
    s_reset ();
}

static void test_balanced (void)
{
    /* "cpu" has memory to spare, "mem" has cpu to spare */
    const Hs__Node *nodes[] = {
        s_node ("cpu", "4", "16Gi", "", NULL, NULL, NULL),
        s_node ("mem", "16", "4Gi", "", NULL, NULL, NULL),
    };
    sched_cluster_t *c = s_cluster (nodes, 2);
    const char *node = NULL;
    char *msg = NULL;
    /* a cpu-heavy pod: on "mem" it takes 25% cpu and ~0% memory, on "cpu"
     * 100% cpu and ~0% memory: "mem" is more balanced */
    const Hs__Pod *p = s_pod ("cpuheavy", "4", "10Mi", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), 0);
    CHECK_EQ_STR (node, "mem");
    sched_score_t s;
    sched_score (c, (size_t)sched_cluster_find (c, "cpu"), p, &s);
    CHECK_EQ_INT (s.balanced, 50); /* 1 - |1 - 0.0006| / 2, truncated */
    sched_score (c, (size_t)sched_cluster_find (c, "mem"), p, &s);
    CHECK_EQ_INT (s.balanced, 87); /* 1 - |0.25 - 0.0024| / 2 */
    /* memory-heavy: "cpu" */
    p = s_pod ("memheavy", "10m", "4Gi", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), 0);
    CHECK_EQ_STR (node, "cpu");
    sched_cluster_destroy (&c);

    /* equally balanced: least allocated decides; then the name */
    const Hs__Node *n2[] = {
        s_node ("big", "8", "8Gi", "", NULL, NULL, NULL),
        s_node ("small", "2", "2Gi", "", NULL, NULL, NULL),
        s_node ("big2", "8", "8Gi", "", NULL, NULL, NULL),
    };
    c = s_cluster (n2, 3);
    p = s_pod ("p", "1", "1Gi", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), 0);
    CHECK_EQ_STR (node, "big");
    sched_score (c, (size_t)sched_cluster_find (c, "small"), p, &s);
    CHECK_EQ_INT (s.balanced, 100);
    CHECK_EQ_INT (s.least, 50);
    sched_score (c, (size_t)sched_cluster_find (c, "big"), p, &s);
    CHECK_EQ_INT (s.least, 87);
    /* least allocated counts a request-less container as 100m / 200Mi */
    const Hs__Pod *be = s_pod ("be", "", "", NULL, NULL, NULL, NULL);
    sched_score (c, (size_t)sched_cluster_find (c, "small"), be, &s);
    CHECK_EQ_INT (s.least, (95 + 90) / 2);
    sched_cluster_destroy (&c);
    s_reset ();
}

/* A burst: accounting each pick spreads equal pods over equal nodes. */
static void test_burst (void)
{
    const Hs__Node *nodes[] = {
        s_node ("a", "1", "1Gi", "", NULL, NULL, NULL),
        s_node ("b", "1", "1Gi", "", NULL, NULL, NULL),
    };
    sched_cluster_t *c = s_cluster (nodes, 2);
    int on_a = 0, on_b = 0, none = 0;
    for (int i = 0; i < 22; i++) {
        char name[16];
        snprintf (name, sizeof name, "p%d", i);
        const Hs__Pod *p = s_pod (name, "100m", "10Mi", NULL, NULL, NULL, NULL);
        const char *node = NULL;
        char *msg = NULL;
        if (sched_pick (c, p, &node, &msg) == 0) {
            sched_cluster_add_pod (c, p, node);
            if (!strcmp (node, "a"))
                on_a++;
            else
                on_b++;
        } else {
            CHECK_EQ_STR (msg, "0/2 nodes are available: 2 Insufficient cpu.");
            free (msg);
            none++;
        }
    }
    CHECK_EQ_INT (on_a, 10);
    CHECK_EQ_INT (on_b, 10);
    CHECK_EQ_INT (none, 2);
    sched_cluster_destroy (&c);
    s_reset ();
}

/* kube's percentageOfNodesToScore: how many feasible nodes a pick looks
 * for, and that successive picks start where the last one stopped. */
static void test_sampling (void)
{
    CHECK_EQ_INT (sched_nodes_to_find (3), 3);
    CHECK_EQ_INT (sched_nodes_to_find (100), 100);
    CHECK_EQ_INT (sched_nodes_to_find (500), 230);     /* 46% */
    CHECK_EQ_INT (sched_nodes_to_find (5000), 500);    /* 10% */
    CHECK_EQ_INT (sched_nodes_to_find (100000), 5000); /* at least 5% */
    CHECK_EQ_INT (sched_nodes_to_find (150), 100);     /* 49% = 73, but at least 100 */

    enum { N = 500 };
    const Hs__Node **nodes = hs_calloc (N, sizeof *nodes);
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf (name, sizeof name, "n%03d", i);
        nodes[i] = s_node (name, "1", "1Gi", "", NULL, NULL, NULL);
    }
    sched_cluster_t *c = s_cluster (nodes, N);
    /* Equal nodes: a pick takes the first of its sample; the next pick's
     * sample starts 230 nodes further on. */
    const Hs__Pod *p = s_pod ("p", "100m", "10Mi", NULL, NULL, NULL, NULL);
    const char *node = NULL;
    char *msg = NULL;
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), 0);
    CHECK_EQ_STR (node, "n000");
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), 0);
    CHECK_EQ_STR (node, "n230");
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), 0);
    CHECK_EQ_STR (node, "n000"); /* 460..499, then 0..189: a tie goes to the first name */
    CHECK_EQ_INT (sched_pick (c, p, &node, &msg), 0);
    CHECK_EQ_STR (node, "n190"); /* 190..419 */
    /* Nothing fits: every node is looked at and counted. */
    const Hs__Pod *big = s_pod ("big", "2", "10Mi", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT (sched_pick (c, big, &node, &msg), -ENOSPC);
    CHECK_EQ_STR (msg, "0/500 nodes are available: 500 Insufficient cpu.");
    free (msg);
    sched_cluster_destroy (&c);
    free (nodes);
    s_reset ();
}

/* The incremental view hs-scheduler keeps: pods counted under keys, replaced
 * and taken out exactly; assumptions; nodes replaced in place or listed
 * again; pods on a node that is gone counted for when it returns. */
static void test_incremental (void)
{
    const Hs__Node *nodes[] = {s_node ("n1", "1", "1Gi", "", NULL, NULL, NULL)};
    sched_cluster_t *c = s_cluster (nodes, 1);
    sched_req_t r;
    int64_t pods;
    sched_why_t why;
    const Hs__Pod *a = s_pod ("a", "300m", "100Mi", NULL, NULL, "n1", NULL);
    CHECK_EQ_INT (sched_cluster_set_pod (c, "default/a", a, NULL, false), 0);
    CHECK_EQ_INT (sched_cluster_set_pod (c, "default/a", a, NULL, false), 0); /* replaces */
    sched_cluster_used (c, 0, &r, &pods);
    CHECK_EQ_INT (r.cpu_milli, 300);
    CHECK_EQ_INT (r.mem_bytes, 100LL << 20);
    CHECK_EQ_INT (pods, 1);
    /* an assumption, refused; again, then the watch shows it bound */
    const Hs__Pod *b = s_pod ("b", "300m", "", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT (sched_cluster_set_pod (c, "default/b", b, "n1", true), 0);
    sched_cluster_used (c, 0, &r, &pods);
    CHECK_EQ_INT (r.cpu_milli, 600);
    sched_cluster_unset_pod (c, "default/b", true);
    sched_cluster_used (c, 0, &r, &pods);
    CHECK_EQ_INT (r.cpu_milli, 300);
    CHECK_EQ_INT (pods, 1);
    CHECK_EQ_INT (sched_cluster_set_pod (c, "default/b", b, "n1", true), 0);
    const Hs__Pod *b_bound = s_pod ("b", "300m", "", NULL, NULL, "n1", NULL);
    CHECK_EQ_INT (sched_cluster_set_pod (c, "default/b", b_bound, NULL, false), 0);
    sched_cluster_unset_pod (c, "default/b", true); /* not an assumption any more */
    sched_cluster_used (c, 0, &r, &pods);
    CHECK_EQ_INT (r.cpu_milli, 600);
    CHECK_EQ_INT (pods, 2);
    /* host ports and owners come out with their pod */
    const char *port8080 = "    ports:\n    - containerPort: 80\n      hostPort: 8080\n";
    const Hs__Pod *w = s_pod ("w", "", "", NULL, port8080, "n1", "rs-1");
    const Hs__Pod *w2 = s_pod ("w2", "", "", NULL, port8080, NULL, "rs-1");
    CHECK_EQ_INT (sched_cluster_set_pod (c, "default/w", w, NULL, false), 0);
    CHECK_EQ_STR (s_reason (c, "n1", w2, &why),
                  "node(s) didn't have free ports for the requested pod ports");
    sched_score_t sc;
    sched_score (c, 0, s_pod ("w3", "", "", NULL, NULL, NULL, "rs-1"), &sc);
    CHECK_EQ_INT (sc.spread, 1);
    sched_cluster_unset_pod (c, "default/w", false);
    CHECK_EQ_STR (s_reason (c, "n1", w2, &why), "");
    sched_score (c, 0, s_pod ("w4", "", "", NULL, NULL, NULL, "rs-1"), &sc);
    CHECK_EQ_INT (sc.spread, 0);
    /* a pod that finished counts nothing */
    const Hs__Object *done = s_load ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n"
                                     "spec:\n  nodeName: n1\n  containers:\n  - name: c\n"
                                     "    command: [x]\nstatus:\n  phase: Succeeded\n");
    CHECK_EQ_INT (sched_cluster_set_pod (c, "default/a", done->pod, NULL, false), 0);
    sched_cluster_used (c, 0, &r, &pods);
    CHECK_EQ_INT (r.cpu_milli, 300);
    CHECK_EQ_INT (pods, 1);
    /* a node changed in place; one unknown */
    const Hs__Node *n1c = s_node ("n1", "1", "1Gi", "", NULL, "  unschedulable: true\n", NULL);
    CHECK_EQ_INT (sched_cluster_update_node (c, n1c), 0);
    CHECK_EQ_STR (s_reason (c, "n1", w2, &why), "node(s) were unschedulable");
    const Hs__Node *n2 = s_node ("n2", "1", "1Gi", "", NULL, NULL, NULL);
    CHECK_EQ_INT (sched_cluster_update_node (c, n2), -ENOENT);
    /* a pod on n2 before n2 is listed, counted once it is, kept while it is gone */
    const Hs__Pod *g = s_pod ("g", "700m", "", NULL, NULL, "n2", NULL);
    CHECK_EQ_INT (sched_cluster_set_pod (c, "default/g", g, NULL, false), 0);
    const Hs__Node *both[] = {nodes[0], n2};
    sched_cluster_set_nodes (c, both, 2);
    CHECK_EQ_INT (sched_cluster_size (c), 2);
    int i2 = sched_cluster_find (c, "n2");
    CHECK (i2 >= 0);
    sched_cluster_used (c, (size_t)i2, &r, &pods);
    CHECK_EQ_INT (r.cpu_milli, 700);
    CHECK_EQ_INT (pods, 1);
    sched_cluster_set_nodes (c, nodes, 1);
    CHECK_EQ_INT (sched_cluster_find (c, "n2"), -1);
    sched_cluster_used (c, 0, &r, &pods); /* n1 kept what it had */
    CHECK_EQ_INT (r.cpu_milli, 300);
    sched_cluster_set_nodes (c, both, 2);
    CHECK_EQ_STR (s_reason (c, "n2", s_pod ("h", "400m", "", NULL, NULL, NULL, NULL), &why),
                  "Insufficient cpu");
    sched_cluster_unset_pod (c, "default/g", false);
    CHECK_EQ_STR (s_reason (c, "n2", s_pod ("h2", "400m", "", NULL, NULL, NULL, NULL), &why), "");
    sched_cluster_destroy (&c);
    s_reset ();
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"sampling", test_sampling},
        {"reasons", test_reasons},
        {"requests_accounting", test_requests_accounting},
        {"tolerations", test_tolerations},
        {"host_ports", test_host_ports},
        {"message", test_message},
        {"spread", test_spread},
        {"balanced", test_balanced},
        {"burst", test_burst},
        {"incremental", test_incremental},
    };
    return HS_TEST_RUN (tests);
}
