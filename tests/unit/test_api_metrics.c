/*  test_api_metrics.c: metrics.k8s.io/v1beta1 in hs-apiserver (issue 18):
 *  the objects metrics-server writes (api_metrics.c), their routes
 *  (api_route.c) and their discovery rows, legacy and aggregated
 *  (api_discovery.c). */
#include "api.h"
#include "hs_manifest.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

#define S   1000000000LL
#define NOW (1800000000LL * S) /* 2027-01-15T08:00:00Z */

static char *s_json (const hs_tree_t *t)
{
    return hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
}

static hs_manifest_t s_load (const char *yaml)
{
    hs_manifest_t m = {0};
    char *err = NULL;
    int r = hs_manifest_parse (yaml, strlen (yaml), "test", &m, &err);
    if (r < 0) fprintf (stderr, "  manifest: %s\n", err);
    CHECK_EQ_INT (r, 0);
    free (err);
    return m;
}

static Hs__NodeUsage *s_sample (void)
{
    Hs__NodeUsage *u = hs_pb_new (&hs__node_usage__descriptor);
    hs_pb_set_str (&u->node, "n1");
    u->timestamp = NOW - 2 * S + 400000000; /* to the second, as metav1.Time */
    u->window_ms = 1002;
    u->interval_ms = 1000;
    u->cpu_usage_nanocores = 1500000000;
    u->memory_working_set_bytes = 3LL << 30;
    Hs__PodUsage *p = hs_pb_new (&hs__pod_usage__descriptor);
    hs_pb_set_str (&p->namespace_, "default");
    hs_pb_set_str (&p->name, "web");
    Hs__ContainerUsage *c = hs_pb_new (&hs__container_usage__descriptor);
    hs_pb_set_str (&c->name, "main");
    c->cpu_usage_nanocores = 12345678;
    c->memory_working_set_bytes = 1264640;
    hs_pb_push ((void ***)&p->containers, &p->n_containers, c);
    hs_pb_push ((void ***)&u->pods, &u->n_pods, p);
    return u;
}

static void test_objects (void)
{
    hs_manifest_t m = s_load ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
                              "  namespace: default\n  labels: {tier: fe, app: web}\n"
                              "spec:\n  containers:\n  - name: main\n    image: x\n"
                              "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n"
                              "  labels: {zone: a}\n");
    CHECK_EQ_INT ((int)m.n, 2);
    Hs__NodeUsage *u = s_sample ();
    hs_tree_t *t = api_pod_metrics_tree (m.docs[0].object, u, u->pods[0], NOW, true);
    char *j = s_json (t);
    CHECK_EQ_STR (j, "{\"kind\":\"PodMetrics\",\"apiVersion\":\"metrics.k8s.io/v1beta1\","
                     "\"metadata\":{\"name\":\"web\",\"namespace\":\"default\","
                     "\"creationTimestamp\":\"2027-01-15T08:00:00Z\","
                     "\"labels\":{\"app\":\"web\",\"tier\":\"fe\"}},"
                     "\"timestamp\":\"2027-01-15T07:59:58Z\",\"window\":\"1.002s\","
                     "\"containers\":[{\"name\":\"main\",\"usage\":{\"cpu\":\"12345678n\","
                     "\"memory\":\"1235Ki\"}}]}");
    free (j);
    hs_tree_free (t);
    /* a list: items without kind or apiVersion */
    hs_tree_t *items = hs_tree_new (HS_TREE_SEQ);
    hs_tree_add (items, NULL, api_node_metrics_tree (m.docs[1].object, u, NOW, false));
    t = api_metrics_list_tree ("NodeMetricsList", items);
    j = s_json (t);
    CHECK_EQ_STR (j, "{\"kind\":\"NodeMetricsList\",\"apiVersion\":\"metrics.k8s.io/v1beta1\","
                     "\"metadata\":{},\"items\":[{\"metadata\":{\"name\":\"n1\","
                     "\"creationTimestamp\":\"2027-01-15T08:00:00Z\",\"labels\":{\"zone\":\"a\"}},"
                     "\"timestamp\":\"2027-01-15T07:59:58Z\",\"window\":\"1.002s\","
                     "\"usage\":{\"cpu\":\"1500m\",\"memory\":\"3Gi\"}}]}");
    free (j);
    hs_tree_free (t);
    hs_pb_free (u);
    hs_manifest_free (&m);
}

static void test_routes (void)
{
    static const struct {
        const char *url;
        api_path_t path;
        hs_kind_t kind;
        const char *ns, *name;
    } cases[] = {
        {"/apis/metrics.k8s.io/v1beta1/nodes", API_PATH_METRICS, HS_KIND_NODE, "", ""},
        {"/apis/metrics.k8s.io/v1beta1/nodes/n1", API_PATH_METRICS, HS_KIND_NODE, "", "n1"},
        {"/apis/metrics.k8s.io/v1beta1/pods", API_PATH_METRICS, HS_KIND_POD, "", ""},
        {"/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", API_PATH_METRICS, HS_KIND_POD,
         "default", ""},
        {"/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web/", API_PATH_METRICS, HS_KIND_POD,
         "default", "web"},
        {"/apis/metrics.k8s.io/v1beta1", API_PATH_GV, HS_KIND_NONE, "", ""},
        {"/apis/metrics.k8s.io", API_PATH_GROUP, HS_KIND_NONE, "", ""},
        {"/apis/metrics.k8s.io/v1beta1/nodes/n1/status", API_PATH_UNKNOWN, HS_KIND_NONE, "", ""},
        {"/apis/metrics.k8s.io/v1beta1/pods/web", API_PATH_UNKNOWN, HS_KIND_NONE, "", ""},
        {"/apis/metrics.k8s.io/v1beta1/namespaces/default/nodes", API_PATH_UNKNOWN, HS_KIND_NONE,
         "", ""},
        {"/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web/x", API_PATH_UNKNOWN,
         HS_KIND_NONE, "", ""},
        {"/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/..", API_PATH_UNKNOWN, HS_KIND_NONE,
         "", ""},
        {"/apis/metrics.k8s.io/v1/nodes", API_PATH_UNKNOWN, HS_KIND_NONE, "", ""},
        {"/apis/metrics.k8s.io/v1beta1/deployments", API_PATH_UNKNOWN, HS_KIND_NONE, "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        api_route_t r;
        char *buf = NULL;
        api_route_parse (API_GET, cases[i].url, &r, &buf);
        if (r.path != cases[i].path) fprintf (stderr, "  %s: path %d\n", cases[i].url, r.path);
        CHECK_EQ_INT (r.path, cases[i].path);
        CHECK_EQ_INT (r.kind, cases[i].kind);
        CHECK_EQ_STR (r.ns, cases[i].ns);
        CHECK_EQ_STR (r.name, cases[i].name);
        if (r.path == API_PATH_METRICS) {
            CHECK_EQ_STR (r.group, "metrics.k8s.io");
            CHECK_EQ_STR (r.version, "v1beta1");
        }
        free (buf);
    }
}

static void test_discovery (void)
{
    hs_tree_t *t = api_discovery_apis (false);
    char *j = s_json (t);
    CHECK_CONTAINS (j, "{\"name\":\"metrics.k8s.io\",\"versions\":[{\"groupVersion\":"
                       "\"metrics.k8s.io/v1beta1\",\"version\":\"v1beta1\"}],"
                       "\"preferredVersion\":{\"groupVersion\":\"metrics.k8s.io/v1beta1\","
                       "\"version\":\"v1beta1\"}}");
    free (j);
    hs_tree_free (t);
    t = api_discovery_apis (true);
    j = s_json (t);
    CHECK_CONTAINS (j, "{\"metadata\":{\"name\":\"metrics.k8s.io\",\"creationTimestamp\":null},"
                       "\"versions\":[{\"version\":\"v1beta1\",\"resources\":[{\"resource\":"
                       "\"nodes\",\"responseKind\":{\"group\":\"metrics.k8s.io\",\"version\":"
                       "\"v1beta1\",\"kind\":\"NodeMetrics\"},\"scope\":\"Cluster\","
                       "\"singularResource\":\"\",\"verbs\":[\"get\",\"list\"]},");
    CHECK_CONTAINS (j, "\"kind\":\"PodMetrics\"},\"scope\":\"Namespaced\"");
    free (j);
    hs_tree_free (t);
    /* not in the core group's aggregated list */
    t = api_discovery_api (true);
    j = s_json (t);
    CHECK (strstr (j, "metrics.k8s.io") == NULL);
    free (j);
    hs_tree_free (t);
    t = api_discovery_group ("metrics.k8s.io");
    j = s_json (t);
    CHECK_CONTAINS (j, "\"kind\":\"APIGroup\"");
    CHECK_CONTAINS (j, "\"preferredVersion\":{\"groupVersion\":\"metrics.k8s.io/v1beta1\"");
    free (j);
    hs_tree_free (t);
    t = api_discovery_resources ("metrics.k8s.io", "v1beta1");
    j = s_json (t);
    CHECK_EQ_STR (j, "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":"
                     "\"metrics.k8s.io/v1beta1\",\"resources\":[{\"name\":\"nodes\","
                     "\"singularName\":\"\",\"namespaced\":false,\"kind\":\"NodeMetrics\","
                     "\"verbs\":[\"get\",\"list\"]},{\"name\":\"pods\",\"singularName\":\"\","
                     "\"namespaced\":true,\"kind\":\"PodMetrics\",\"verbs\":[\"get\",\"list\"]}]}");
    free (j);
    hs_tree_free (t);
    CHECK (api_discovery_resources ("metrics.k8s.io", "v1") == NULL);
    CHECK (api_openapi_gv ("metrics.k8s.io", "v1beta1") == NULL);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"objects", test_objects},
        {"routes", test_routes},
        {"discovery", test_discovery},
    };
    return HS_TEST_RUN (tests);
}
