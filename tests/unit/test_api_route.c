/*  test_api_route.c: api_route_parse over every path shape kubectl and the
 *  python client send (notes/kube-api.md §1, §2), and the query parser
 *  (pitfall 7: '+' is a space, booleans case-insensitive). */
#include "api.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *url;
    api_path_t path;
    const char *group, *version;
    hs_kind_t kind;
    const char *ns, *name, *sub;
} s_case_t;

#define NS API_KIND_NAMESPACE
#define U  API_PATH_UNKNOWN
#define R  API_PATH_RESOURCE

static void test_paths (void)
{
    static const s_case_t cases[] = {
        {"/version", API_PATH_VERSION, "", "", HS_KIND_NONE, "", "", ""},
        {"/api", API_PATH_API, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/", API_PATH_API, "", "", HS_KIND_NONE, "", "", ""},
        {"/apis", API_PATH_APIS, "", "", HS_KIND_NONE, "", "", ""},
        {"/apis/apps", API_PATH_GROUP, "apps", "", HS_KIND_NONE, "", "", ""},
        {"/api/v1", API_PATH_GV, "", "v1", HS_KIND_NONE, "", "", ""},
        {"/apis/apps/v1", API_PATH_GV, "apps", "v1", HS_KIND_NONE, "", "", ""},
        {"/apis/policy/v1", API_PATH_GV, "policy", "v1", HS_KIND_NONE, "", "", ""},
        {"/apis/autoscaling/v1/", API_PATH_GV, "autoscaling", "v1", HS_KIND_NONE, "", "", ""},
        {"/openapi/v3", API_PATH_OPENAPI_V3, "", "", HS_KIND_NONE, "", "", ""},
        {"/openapi/v3/api/v1", API_PATH_OPENAPI_GV, "", "v1", HS_KIND_NONE, "", "", ""},
        {"/openapi/v3/apis/apps/v1", API_PATH_OPENAPI_GV, "apps", "v1", HS_KIND_NONE, "", "", ""},
        {"/openapi/v2", API_PATH_OPENAPI_V2, "", "", HS_KIND_NONE, "", "", ""},
        {"/healthz", API_PATH_HEALTH, "", "", HS_KIND_NONE, "", "", ""},
        {"/livez", API_PATH_HEALTH, "", "", HS_KIND_NONE, "", "", ""},
        {"/readyz", API_PATH_HEALTH, "", "", HS_KIND_NONE, "", "", ""},
        /* resources */
        {"/api/v1/pods", R, "", "v1", HS_KIND_POD, "", "", ""},
        {"/api/v1/namespaces/default/pods", R, "", "v1", HS_KIND_POD, "default", "", ""},
        {"/api/v1/namespaces/default/pods/web", R, "", "v1", HS_KIND_POD, "default", "web", ""},
        {"/api/v1/namespaces/default/pods/web/log", R, "", "v1", HS_KIND_POD, "default", "web",
         "log"},
        {"/api/v1/namespaces/d/pods/web/eviction", R, "", "v1", HS_KIND_POD, "d", "web",
         "eviction"},
        {"/api/v1/namespaces/d/pods/web/exec", R, "", "v1", HS_KIND_POD, "d", "web", "exec"},
        {"/api/v1/namespaces/d/pods/web/status", R, "", "v1", HS_KIND_POD, "d", "web", "status"},
        {"/api/v1/nodes", R, "", "v1", HS_KIND_NODE, "", "", ""},
        {"/api/v1/nodes/demo", R, "", "v1", HS_KIND_NODE, "", "demo", ""},
        {"/api/v1/nodes/demo/status", R, "", "v1", HS_KIND_NODE, "", "demo", "status"},
        {"/apis/apps/v1/namespaces/default/deployments/web/scale", R, "apps", "v1",
         HS_KIND_DEPLOYMENT, "default", "web", "scale"},
        {"/apis/apps/v1/namespaces/default/replicasets/web/scale", R, "apps", "v1",
         HS_KIND_REPLICASET, "default", "web", "scale"},
        {"/apis/apps/v1/deployments", R, "apps", "v1", HS_KIND_DEPLOYMENT, "", "", ""},
        {"/apis/apps/v1/namespaces/x/replicasets", R, "apps", "v1", HS_KIND_REPLICASET, "x", "",
         ""},
        {"/apis/batch/v1/namespaces/x/jobs/once", R, "batch", "v1", HS_KIND_JOB, "x", "once", ""},
        {"/apis/batch/v1/namespaces/x/jobs/once/status", R, "batch", "v1", HS_KIND_JOB, "x", "once",
         "status"},
        {"/apis/autoscaling/v2/namespaces/x/horizontalpodautoscalers/web", R, "autoscaling", "v2",
         HS_KIND_HPA, "x", "web", ""},
        {"/apis/autoscaling/v2/namespaces/x/horizontalpodautoscalers/web/status", R, "autoscaling",
         "v2", HS_KIND_HPA, "x", "web", "status"},
        {"/apis/autoscaling/v2/horizontalpodautoscalers", R, "autoscaling", "v2", HS_KIND_HPA, "",
         "", ""},
        {"/api/v1/namespaces", R, "", "v1", NS, "", "", ""},
        {"/api/v1/namespaces/kube-system", R, "", "v1", NS, "", "kube-system", ""},
        {"/api/v1/namespaces/kube-system/status", R, "", "v1", NS, "", "kube-system", "status"},
        {"/api/v1/events", R, "", "v1", HS_KIND_EVENT, "", "", ""},
        {"/api/v1/namespaces/default/events", R, "", "v1", HS_KIND_EVENT, "default", "", ""},
        {"/api/v1/namespaces/a/services/s", R, "", "v1", HS_KIND_SERVICE, "a", "s", ""},
        {"/api/v1/namespaces/a/endpoints/s", R, "", "v1", HS_KIND_ENDPOINTS, "a", "s", ""},
        {"/api/v1/namespaces/a/configmaps/c", R, "", "v1", HS_KIND_CONFIGMAP, "a", "c", ""},
        {"/api/v1/namespaces/a/secrets/c", R, "", "v1", HS_KIND_SECRET, "a", "c", ""},
        {"/api/v1/namespaces/a/pods/", R, "", "v1", HS_KIND_POD, "a", "", ""},
        /* what is not served */
        {"/", U, "", "", HS_KIND_NONE, "", "", ""},
        {"", U, "", "", HS_KIND_NONE, "", "", ""},
        {"version", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/version/x", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/healthz/ping", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/v2", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/v2/pods", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/apis/apps/v1/namespaces/default/pods", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/apis/apps/v1/pods", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/v1/namespaces/default/deployments", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/apis/apps/v2/deployments", U, "", "", HS_KIND_NONE, "", "", ""},
        /* HPAs are autoscaling/v2 only */
        {"/apis/autoscaling/v1/namespaces/x/horizontalpodautoscalers", U, "", "", HS_KIND_NONE, "",
         "", ""},
        {"/apis/autoscaling/v2/namespaces/x/horizontalpodautoscalers/web/scale", U, "", "",
         HS_KIND_NONE, "", "", ""},
        {"/apis/batch/v1/namespaces/x/jobs/once/scale", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/v1/namespaces/x/configmaps/c/status", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/v1/namespaces/x/pods/web/log/extra", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/v1/pods/web", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/v1/nodes/demo/log", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/v1/namespaces//pods", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/v1/namespaces/x/pods/..", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/v1/namespaces/x/pods//", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/v1/namespaces/x/bogus", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/api/v1/leases", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/demo", U, "", "",
         HS_KIND_NONE, "", "", ""},
        {"/apis/apps/v1/namespaces", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/openapi/v3/api/v2", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/openapi/v4", U, "", "", HS_KIND_NONE, "", "", ""},
        {"/a/b/c/d/e/f/g/h/i/j/k/l", U, "", "", HS_KIND_NONE, "", "", ""},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        const s_case_t *c = &cases[i];
        api_route_t r;
        char *buf = NULL;
        api_route_parse (API_GET, c->url, &r, &buf);
        if (r.path != c->path) fprintf (stderr, "  url %s\n", c->url);
        CHECK_EQ_INT (r.path, c->path);
        CHECK_EQ_STR (r.group, c->group);
        CHECK_EQ_STR (r.version, c->version);
        CHECK_EQ_INT (r.kind, c->kind);
        CHECK_EQ_STR (r.ns, c->ns);
        CHECK_EQ_STR (r.name, c->name);
        CHECK_EQ_STR (r.sub, c->sub);
        free (buf);
    }
    /* names at and past Kubernetes' lengths */
    char url[600];
    char name[300];
    memset (name, 'a', 253);
    name[253] = '\0';
    snprintf (url, sizeof url, "/api/v1/namespaces/x/pods/%s", name);
    api_route_t r;
    char *buf = NULL;
    api_route_parse (API_DELETE, url, &r, &buf);
    CHECK_EQ_INT (r.path, R);
    CHECK_EQ_INT ((int)strlen (r.name), 253);
    free (buf);
    snprintf (url, sizeof url, "/api/v1/namespaces/x/pods/%sa", name);
    api_route_parse (API_DELETE, url, &r, &buf);
    CHECK_EQ_INT (r.path, U);
    free (buf);
    name[64] = '\0';
    snprintf (url, sizeof url, "/api/v1/namespaces/%s/pods", name);
    api_route_parse (API_GET, url, &r, &buf);
    CHECK_EQ_INT (r.path, U);
    free (buf);
    api_route_parse (API_GET, NULL, &r, &buf);
    CHECK_EQ_INT (r.path, U);
    CHECK (buf == NULL);
}

static void test_query (void)
{
    api_query_t q;
    api_query_parse ("labelSelector=app+in+%28wd%2Cweb%29&limit=500&watch=True&x&=v&&"
                     "command=sh&command=-c&bad=%zz%4&follow=TRUE&a=false&b=1&c=0&pct=100%",
                     &q);
    CHECK_EQ_STR (api_query_get (&q, "labelSelector"), "app in (wd,web)");
    CHECK_EQ_STR (api_query_get (&q, "limit"), "500");
    CHECK_EQ_STR (api_query_get (&q, "x"), "");
    CHECK_EQ_STR (api_query_get (&q, ""), "v");
    CHECK_EQ_STR (api_query_get (&q, "command"), "-c");
    CHECK_EQ_STR (api_query_get (&q, "bad"), "%zz%4");
    CHECK_EQ_STR (api_query_get (&q, "pct"), "100%");
    CHECK (api_query_get (&q, "missing") == NULL);
    size_t commands = 0;
    for (size_t i = 0; i < q.n; i++)
        if (strcmp (q.keys[i], "command") == 0) commands++;
    CHECK_EQ_INT (commands, 2);
    CHECK (api_query_bool (&q, "watch", false));
    CHECK (api_query_bool (&q, "follow", false));
    CHECK (!api_query_bool (&q, "a", true));
    CHECK (api_query_bool (&q, "b", false));
    CHECK (!api_query_bool (&q, "c", true));
    CHECK (!api_query_bool (&q, "limit", true));
    CHECK (api_query_bool (&q, "absent", true));
    CHECK (!api_query_bool (&q, "absent", false));
    api_query_free (&q);
    CHECK_EQ_INT (q.n, 0);
    api_query_parse ("", &q);
    CHECK_EQ_INT (q.n, 0);
    api_query_free (&q);
    api_query_parse (NULL, &q);
    CHECK_EQ_INT (q.n, 0);
    api_query_free (&q);
    /* an encoded NUL ends the C string, nothing worse */
    api_query_parse ("k=a%00b&fieldSelector=metadata.name%3Dp1", &q);
    CHECK_EQ_STR (api_query_get (&q, "k"), "a");
    CHECK_EQ_STR (api_query_get (&q, "fieldSelector"), "metadata.name=p1");
    api_query_free (&q);
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"paths", test_paths},
        {"query", test_query},
    };
    return HS_TEST_RUN (tests);
}
