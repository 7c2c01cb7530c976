/*  test_workload.c: the Kubernetes rules of bus/hs_workload that the store,
 *  the scheduler, the agent and hsctl all call: a pod is terminal, its
 *  controller, what it requests (saturating), what a node has for pods
 *  (allocatable, else capacity). Table tests; objects come from YAML.
 */
#include "hs_manifest.h"
#include "hs_test.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <errno.h>
#include <stdlib.h>

static hs_manifest_t s_docs;

static const Hs__Object *s_load (const char *yaml)
{
    char *err = NULL;
    size_t before = s_docs.n;
    int r = hs_manifest_parse (yaml, strlen (yaml), "test", &s_docs, &err);
    if (r < 0) fprintf (stderr, "  manifest: %s\n", err);
    free (err);
    CHECK_EQ_INT (r, 0);
    return r == 0 && s_docs.n == before + 1 ? s_docs.docs[s_docs.n - 1].object : NULL;
}

static void s_reset (void)
{
    hs_manifest_free (&s_docs);
    memset (&s_docs, 0, sizeof s_docs);
}

static void test_terminal (void)
{
    static const struct {
        const char *phase;
        bool terminal;
    } cases[] = {
        {NULL, false},      {"", false},        {"Pending", false},
        {"Running", false}, {"Unknown", false}, {"Succeeded", true},
        {"Failed", true},   {"failed", false},  {"Succeeded ", false},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        CHECK_EQ_INT (hs_pod_phase_terminal (cases[i].phase), cases[i].terminal);
        Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", "p");
        if (cases[i].phase) {
            o->pod->status = hs_pb_new (&hs__pod_status__descriptor);
            hs_pb_set_str (&o->pod->status->phase, cases[i].phase);
        }
        CHECK_EQ_INT (hs_pod_terminal (o->pod), cases[i].terminal);
        /* terminal pods are never active */
        if (cases[i].terminal) CHECK (!hs_pod_active (o->pod));
        hs_pb_free (o);
    }
    CHECK (!hs_pod_terminal (NULL));
}

static void test_controller (void)
{
    static const struct {
        const char *refs; /* YAML list items under ownerReferences, or "" */
        const char *uid;  /* expected hs_controller_uid, or NULL */
    } cases[] = {
        {"", NULL},
        {"  - {apiVersion: apps/v1, kind: ReplicaSet, name: a, uid: u1}\n", NULL},
        {"  - {apiVersion: apps/v1, kind: ReplicaSet, name: a, uid: u1, controller: true}\n", "u1"},
        {"  - {apiVersion: v1, kind: Node, name: n, uid: n1}\n"
         "  - {apiVersion: apps/v1, kind: ReplicaSet, name: a, uid: u2, controller: true}\n",
         "u2"},
        {"  - {apiVersion: apps/v1, kind: ReplicaSet, name: a, uid: \"\", controller: true}\n",
         NULL},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        _cleanup_free_ char *y =
            hs_sprintf ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n%s%s"
                        "spec:\n  containers:\n  - name: c\n    command: [x]\n",
                        hs_empty (cases[i].refs) ? "" : "  ownerReferences:\n", cases[i].refs);
        const Hs__Object *o = s_load (y);
        if (!o) continue;
        const Hs__ObjectMeta *m = o->pod->metadata;
        const char *uid = hs_controller_uid (m);
        if (cases[i].uid) {
            CHECK_EQ_STR (uid, cases[i].uid);
            CHECK (hs_controlled_by (m, cases[i].uid));
            CHECK (hs_controller_ref (m) != NULL);
        } else {
            CHECK (uid == NULL);
        }
        CHECK (!hs_controlled_by (m, "other"));
        CHECK (!hs_controlled_by (m, ""));
        CHECK (!hs_controlled_by (m, NULL));
    }
    CHECK (hs_controller_uid (NULL) == NULL);
    s_reset ();
}

#define GI (1024LL * 1024 * 1024)
#define MI (1024LL * 1024)

static void test_requests (void)
{
    static const struct {
        const char *containers; /* YAML under spec.containers */
        hs_resources_t req, nonzero, lim;
    } cases[] = {
        /* no resources at all: nothing, but one pod slot; scoring weighs 100m/200Mi */
        {"  - {name: a, command: [x]}\n",
         {0, 0, 1},
         {HS_NONZERO_CPU_MILLI, HS_NONZERO_MEM_BYTES, 1},
         {0, 0, 0}},
        /* summed over containers */
        {"  - {name: a, command: [x], resources: {requests: {cpu: 250m, memory: 64Mi},"
         " limits: {cpu: 500m, memory: 128Mi}}}\n"
         "  - {name: b, command: [x], resources: {requests: {cpu: \"1\"}}}\n",
         {1250, 64 * MI, 1},
         {1250, 64 * MI + HS_NONZERO_MEM_BYTES, 1},
         {500, 128 * MI, 0}},
        /* absurd but valid quantities saturate instead of wrapping */
        {"  - {name: a, command: [x], resources: {requests: {memory: 4Ei}, limits: {memory: "
         "4Ei}}}\n"
         "  - {name: b, command: [x], resources: {requests: {memory: 4Ei}, limits: {memory: "
         "4Ei}}}\n"
         "  - {name: c, command: [x], resources: {requests: {memory: 4Ei}, limits: {memory: "
         "4Ei}}}\n",
         {0, INT64_MAX, 1},
         {3 * HS_NONZERO_CPU_MILLI, INT64_MAX, 1},
         {0, INT64_MAX, 0}},
        /* a bad quantity (never stored) counts as nothing */
        {"  - {name: a, command: [x], resources: {requests: {cpu: lots, memory: 1Gi}}}\n",
         {0, GI, 1},
         {HS_NONZERO_CPU_MILLI, GI, 1},
         {0, 0, 0}},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        _cleanup_free_ char *y =
            hs_sprintf ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n%s",
                        cases[i].containers);
        /* the manifest loader keeps quantities as text; "lots" passes it */
        const Hs__Object *o = s_load (y);
        if (!o) continue;
        hs_resources_t r;
        hs_pod_requests (o->pod, &r);
        CHECK_EQ_INT (r.cpu_milli, cases[i].req.cpu_milli);
        CHECK_EQ_INT (r.mem_bytes, cases[i].req.mem_bytes);
        CHECK_EQ_INT (r.pods, cases[i].req.pods);
        hs_pod_requests_nonzero (o->pod, &r);
        CHECK_EQ_INT (r.cpu_milli, cases[i].nonzero.cpu_milli);
        CHECK_EQ_INT (r.mem_bytes, cases[i].nonzero.mem_bytes);
        CHECK_EQ_INT (r.pods, cases[i].nonzero.pods);
        hs_pod_limits (o->pod, &r);
        CHECK_EQ_INT (r.cpu_milli, cases[i].lim.cpu_milli);
        CHECK_EQ_INT (r.mem_bytes, cases[i].lim.mem_bytes);
        CHECK_EQ_INT (r.pods, cases[i].lim.pods);
    }
    hs_resources_t r;
    hs_pod_requests (NULL, &r);
    CHECK_EQ_INT (r.cpu_milli, 0);
    CHECK_EQ_INT (r.pods, 1);
    s_reset ();
}

static void test_allocatable (void)
{
    static const struct {
        const char *status; /* YAML under status, or "" */
        hs_resources_t want;
    } cases[] = {
        /* nothing reported: no limit */
        {"", {-1, -1, -1}},
        /* capacity only */
        {"  capacity: {cpu: \"4\", memory: 8Gi, pods: \"110\"}\n", {4000, 8 * GI, 110}},
        /* allocatable wins over capacity */
        {"  capacity: {cpu: \"4\", memory: 8Gi, pods: \"110\"}\n"
         "  allocatable: {cpu: 3500m, memory: 7Gi, pods: \"100\"}\n",
         {3500, 7 * GI, 100}},
        /* per resource: what allocatable does not name comes from capacity
         * (hsctl describe node used to show 0% here) */
        {"  capacity: {cpu: \"4\", memory: 8Gi, pods: \"110\"}\n"
         "  allocatable: {cpu: \"2\"}\n",
         {2000, 8 * GI, 110}},
        /* allocatable only */
        {"  allocatable: {memory: 1Gi}\n", {-1, GI, -1}},
        /* a bad quantity (never stored) sets no limit, and does not fall back */
        {"  capacity: {cpu: \"4\"}\n  allocatable: {cpu: lots}\n", {-1, -1, -1}},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        _cleanup_free_ char *y =
            hs_sprintf ("apiVersion: v1\nkind: Node\nmetadata:\n  name: n\n%s%s",
                        hs_empty (cases[i].status) ? "" : "status:\n", cases[i].status);
        const Hs__Object *o = s_load (y);
        if (!o) continue;
        hs_resources_t r;
        hs_node_allocatable (o->node, &r);
        CHECK_EQ_INT (r.cpu_milli, cases[i].want.cpu_milli);
        CHECK_EQ_INT (r.mem_bytes, cases[i].want.mem_bytes);
        CHECK_EQ_INT (r.pods, cases[i].want.pods);
    }
    hs_resources_t r;
    hs_node_allocatable (NULL, &r);
    CHECK_EQ_INT (r.cpu_milli, -1);
    s_reset ();
}

/* hs_pod_at_most_one, hs_job_at_most_one, and the annotation a
 * parallelism-1 Job's pods get from hs_pod_from_template (a Deployment's
 * template passes its own annotation on like any other). */
static void test_at_most_one (void)
{
    static const struct {
        const char *yaml;
        bool want;
    } pods[] = {
        {"apiVersion: v1\nkind: Pod\nmetadata: {name: a, annotations: {homeostat.io/at-most-one: "
         "\"true\"}}\n",
         true},
        {"apiVersion: v1\nkind: Pod\nmetadata: {name: a, annotations: {homeostat.io/at-most-one: "
         "\"false\"}}\n",
         false},
        {"apiVersion: v1\nkind: Pod\nmetadata: {name: a, annotations: {homeostat.io/at-most-one: "
         "\"True\"}}\n",
         false},
        {"apiVersion: v1\nkind: Pod\nmetadata: {name: a, annotations: {other: \"true\"}}\n", false},
        {"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", false},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (pods); i++) {
        const Hs__Object *o = s_load (pods[i].yaml);
        CHECK (o);
        if (!o) continue;
        CHECK (hs_pod_at_most_one (o->pod) == pods[i].want);
    }
    CHECK (!hs_pod_at_most_one (NULL));
    static const struct {
        const char *yaml;
        bool want;
    } jobs[] = {
        {"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {spec: "
         "{containers: [{name: c, image: "
         "x}]}}}\n",
         true},
        {"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {parallelism: 1, template: "
         "{spec: {containers: "
         "[{name: c, image: x}]}}}\n",
         true},
        {"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {parallelism: 3, template: "
         "{spec: {containers: "
         "[{name: c, image: x}]}}}\n",
         false},
        {"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {parallelism: 3, template: "
         "{metadata: "
         "{annotations: {homeostat.io/at-most-one: \"true\"}}, spec: {containers: [{name: c, "
         "image: x}]}}}\n",
         true},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (jobs); i++) {
        const Hs__Object *o = s_load (jobs[i].yaml);
        CHECK (o);
        if (!o) continue;
        CHECK (hs_job_at_most_one (o->job) == jobs[i].want);
        /* its pods carry the annotation exactly when the Job is at-most-one */
        Hs__Object *pod = hs_pod_from_template (o->job->spec->template_, "default", "j-", o);
        CHECK (hs_pod_at_most_one (pod->pod) == jobs[i].want);
        hs_pb_free (pod);
    }
    /* a ReplicaSet's template annotation flows to its pods; none, none */
    const Hs__Object *rs =
        s_load ("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: r}\nspec: {template: "
                "{metadata: {annotations: {homeostat.io/at-most-one: \"true\"}}, "
                "spec: {containers: [{name: c, image: x}]}}}\n");
    CHECK (rs);
    if (rs) {
        Hs__Object *pod =
            hs_pod_from_template (rs->replica_set->spec->template_, "default", "r-", rs);
        CHECK (hs_pod_at_most_one (pod->pod));
        hs_pb_free (pod);
    }
    const Hs__Object *rs2 =
        s_load ("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: r}\nspec: {template: "
                "{spec: {containers: [{name: c, image: x}]}}}\n");
    CHECK (rs2);
    if (rs2) {
        Hs__Object *pod =
            hs_pod_from_template (rs2->replica_set->spec->template_, "default", "r-", rs2);
        CHECK (!hs_pod_at_most_one (pod->pod));
        hs_pb_free (pod);
    }
    s_reset ();
}

static void test_fence_duration (void)
{
    static const struct {
        const char *text;
        int r;
        int64_t ns;
    } cases[] = {
        {"2s", 0, 2000000000LL},
        {"2", 0, 2000000000LL},
        {"1.5s", 0, 1500000000LL},
        {"500ms", 0, 500000000LL},
        {"0", 0, 0},
        {"1m", 0, 60000000000LL},
        {"60m", 0, 3600000000000LL},
        {"61m", -EINVAL, 0},
        {"-1s", -EINVAL, 0},
        {"2h", -EINVAL, 0},
        {"", -EINVAL, 0},
        {"s", -EINVAL, 0},
        {"nan", -EINVAL, 0},
        {"2 s", -EINVAL, 0},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        int64_t ns = -1;
        CHECK_EQ_INT (hs_fence_duration (cases[i].text, &ns), cases[i].r);
        if (cases[i].r == 0) CHECK_EQ_INT (ns, cases[i].ns);
    }
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"terminal", test_terminal},       {"controller", test_controller},
        {"requests", test_requests},       {"allocatable", test_allocatable},
        {"at_most_one", test_at_most_one}, {"fence_duration", test_fence_duration},
    };
    return HS_TEST_RUN (tests);
}
