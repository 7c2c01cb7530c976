/*  test_api_discovery.c: /version, discovery and OpenAPI documents
 *  (services/apiserver/api_discovery.c). */
#include "api.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

static char *s_json (const hs_tree_t *t)
{
    return hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
}

static const char *s_scalar (const hs_tree_t *t, const char *key)
{
    const hs_tree_t *v = hs_tree_get (t, key);
    return v && v->type == HS_TREE_SCALAR ? v->scalar : NULL;
}

/* The entry of seq whose key is value. */
static const hs_tree_t *s_find (const hs_tree_t *seq, const char *key, const char *value)
{
    for (size_t i = 0; seq && i < seq->n; i++)
        if (hs_streq (s_scalar (seq->items[i], key), value)) return seq->items[i];
    return NULL;
}

static bool s_has_word (const hs_tree_t *seq, const char *w)
{
    for (size_t i = 0; seq && i < seq->n; i++)
        if (hs_streq (seq->items[i]->scalar, w)) return true;
    return false;
}

/* The text goes out and comes back as JSON (the wire). */
static void s_valid_json (const hs_tree_t *t)
{
    char *text = s_json (t);
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    CHECK_EQ_INT (hs_yaml_parse (text, strlen (text), &docs, &n, &err), 0);
    CHECK_EQ_INT (n, 1);
    hs_trees_free (docs, n);
    free (err);
    free (text);
}

static void test_version (void)
{
    hs_tree_t *t = api_discovery_version ();
    CHECK_EQ_STR (s_scalar (t, "major"), "1");
    CHECK_EQ_STR (s_scalar (t, "minor"), "32");
    CHECK_EQ_STR (s_scalar (t, "gitVersion"), "v1.32.0-homeostat");
    CHECK_EQ_STR (s_scalar (t, "platform"), "linux/amd64");
    int64_t ns;
    CHECK_EQ_INT (hs_parse_time (s_scalar (t, "buildDate"), &ns), 0);
    CHECK (s_scalar (t, "goVersion") != NULL);
    s_valid_json (t);
    hs_tree_free (t);
}

static void test_legacy (void)
{
    hs_tree_t *t = api_discovery_api (false);
    char *text = s_json (t);
    CHECK_EQ_STR (text, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],"
                        "\"serverAddressByClientCIDRs\":[]}");
    free (text);
    hs_tree_free (t);

    t = api_discovery_apis (false);
    CHECK_EQ_STR (s_scalar (t, "kind"), "APIGroupList");
    const hs_tree_t *groups = hs_tree_get (t, "groups");
    CHECK (groups && groups->n == 4);
    const char *names[] = {"apps", "batch", "policy", "autoscaling"};
    for (size_t i = 0; i < 4; i++) {
        const hs_tree_t *g = s_find (groups, "name", names[i]);
        CHECK (g != NULL);
        /* autoscaling prefers v2 (HorizontalPodAutoscalers) as in 1.32 */
        const char *v = i == 3 ? "v2" : "v1";
        char *gv = hs_sprintf ("%s/%s", names[i], v);
        CHECK_EQ_STR (s_scalar (hs_tree_get (g, "preferredVersion"), "groupVersion"), gv);
        CHECK_EQ_STR (s_scalar (hs_tree_get (g, "preferredVersion"), "version"), v);
        free (gv);
    }
    hs_tree_free (t);
    t = api_discovery_group ("autoscaling");
    text = s_json (t);
    CHECK_EQ_STR (text, "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",\"name\":\"autoscaling\","
                        "\"versions\":[{\"groupVersion\":\"autoscaling/v2\",\"version\":\"v2\"},"
                        "{\"groupVersion\":\"autoscaling/v1\",\"version\":\"v1\"}],"
                        "\"preferredVersion\":{\"groupVersion\":\"autoscaling/v2\",\"version\":"
                        "\"v2\"}}");
    free (text);
    hs_tree_free (t);
    t = api_discovery_resources ("autoscaling", "v2");
    const hs_tree_t *hpa =
        s_find (hs_tree_get (t, "resources"), "name", "horizontalpodautoscalers");
    CHECK (hpa != NULL);
    CHECK (s_has_word (hs_tree_get (hpa, "shortNames"), "hpa"));
    CHECK (s_has_word (hs_tree_get (hpa, "categories"), "all"));
    CHECK_EQ_STR (s_scalar (hpa, "singularName"), "horizontalpodautoscaler");
    CHECK (s_find (hs_tree_get (t, "resources"), "name", "horizontalpodautoscalers/status"));
    hs_tree_free (t);
    t = api_discovery_resources ("autoscaling", "v1");
    CHECK (t && hs_tree_get (t, "resources")->n == 0);
    hs_tree_free (t);
    CHECK (api_discovery_resources ("autoscaling", "v2beta2") == NULL);

    t = api_discovery_group ("apps");
    text = s_json (t);
    CHECK_EQ_STR (text, "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",\"name\":\"apps\","
                        "\"versions\":[{\"groupVersion\":\"apps/v1\",\"version\":\"v1\"}],"
                        "\"preferredVersion\":{\"groupVersion\":\"apps/v1\",\"version\":\"v1\"}}");
    free (text);
    hs_tree_free (t);
    CHECK (api_discovery_group ("") == NULL);
    CHECK (api_discovery_group ("storage.k8s.io") == NULL);
    CHECK (api_discovery_group (NULL) == NULL);
    CHECK (api_discovery_resources ("apps", "v2") == NULL);
    CHECK (api_discovery_resources ("coordination.k8s.io", "v1") == NULL);
    CHECK (api_discovery_resources ("", "v2") == NULL);
    CHECK (api_discovery_resources (NULL, NULL) == NULL);
}

static void test_resources (void)
{
    hs_tree_t *t = api_discovery_resources ("", "v1");
    CHECK_EQ_STR (s_scalar (t, "kind"), "APIResourceList");
    CHECK_EQ_STR (s_scalar (t, "groupVersion"), "v1");
    const hs_tree_t *rs = hs_tree_get (t, "resources");

    const hs_tree_t *pods = s_find (rs, "name", "pods");
    CHECK (pods != NULL);
    CHECK_EQ_STR (s_scalar (pods, "singularName"), "pod");
    CHECK_EQ_STR (s_scalar (pods, "kind"), "Pod");
    CHECK_EQ_STR (s_scalar (pods, "namespaced"), "true");
    CHECK (!hs_tree_get (pods, "namespaced")->quoted);
    CHECK (s_has_word (hs_tree_get (pods, "shortNames"), "po"));
    CHECK (s_has_word (hs_tree_get (pods, "categories"), "all"));
    const char *verbs[] = {"create", "delete", "deletecollection", "get",
                           "list",   "patch",  "update",           "watch"};
    for (size_t i = 0; i < HS_ARRAY_LEN (verbs); i++)
        CHECK (s_has_word (hs_tree_get (pods, "verbs"), verbs[i]));

    /* drain finds eviction here (notes pitfall 11) */
    const hs_tree_t *ev = s_find (rs, "name", "pods/eviction");
    CHECK (ev != NULL);
    CHECK_EQ_STR (s_scalar (ev, "group"), "policy");
    CHECK_EQ_STR (s_scalar (ev, "version"), "v1");
    CHECK_EQ_STR (s_scalar (ev, "kind"), "Eviction");
    CHECK (s_has_word (hs_tree_get (ev, "verbs"), "create"));
    CHECK (s_find (rs, "name", "pods/log") != NULL);
    CHECK (s_find (rs, "name", "pods/status") != NULL);
    CHECK (s_find (rs, "name", "pods/exec") == NULL); /* not served (yet) */

    const hs_tree_t *ns = s_find (rs, "name", "namespaces");
    CHECK (ns != NULL);
    CHECK_EQ_STR (s_scalar (ns, "namespaced"), "false");
    CHECK_EQ_STR (s_scalar (ns, "kind"), "Namespace");
    CHECK (s_has_word (hs_tree_get (ns, "shortNames"), "ns"));
    CHECK (!s_has_word (hs_tree_get (ns, "verbs"), "delete"));

    const hs_tree_t *nodes = s_find (rs, "name", "nodes");
    CHECK_EQ_STR (s_scalar (nodes, "namespaced"), "false");
    CHECK (hs_tree_get (nodes, "categories") == NULL);
    static const char *const shorts[][2] = {
        {"events", "ev"},     {"services", "svc"}, {"endpoints", "ep"},
        {"configmaps", "cm"}, {"nodes", "no"},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (shorts); i++)
        CHECK (s_has_word (hs_tree_get (s_find (rs, "name", shorts[i][0]), "shortNames"),
                           shorts[i][1]));
    CHECK (s_find (rs, "name", "secrets") != NULL);
    CHECK (s_find (rs, "name", "deployments") == NULL);
    s_valid_json (t);
    hs_tree_free (t);

    t = api_discovery_resources ("apps", "v1");
    rs = hs_tree_get (t, "resources");
    CHECK_EQ_STR (s_scalar (t, "groupVersion"), "apps/v1");
    const hs_tree_t *scale = s_find (rs, "name", "deployments/scale");
    CHECK_EQ_STR (s_scalar (scale, "group"), "autoscaling");
    CHECK_EQ_STR (s_scalar (scale, "kind"), "Scale");
    CHECK (s_find (rs, "name", "replicasets/scale") != NULL);
    CHECK (s_has_word (hs_tree_get (s_find (rs, "name", "deployments"), "shortNames"), "deploy"));
    CHECK (s_has_word (hs_tree_get (s_find (rs, "name", "replicasets"), "shortNames"), "rs"));
    hs_tree_free (t);

    t = api_discovery_resources ("batch", "v1");
    rs = hs_tree_get (t, "resources");
    CHECK (s_has_word (hs_tree_get (s_find (rs, "name", "jobs"), "categories"), "all"));
    hs_tree_free (t);

    /* served groups without resources of their own: an empty list */
    t = api_discovery_resources ("policy", "v1");
    CHECK (t && hs_tree_get (t, "resources")->n == 0);
    hs_tree_free (t);

    /* every kind of hs_obj.h is served, under its apiVersion */
    for (int k = HS_KIND_NONE + 1; k < HS_KIND__COUNT; k++) {
        const hs_kind_info_t *info = hs_kind_info ((hs_kind_t)k);
        const char *slash = strchr (info->api_version, '/');
        t = api_discovery_resources (info->group, slash ? slash + 1 : info->api_version);
        const hs_tree_t *row = s_find (hs_tree_get (t, "resources"), "name", info->plural);
        CHECK (row != NULL);
        if (row) {
            CHECK_EQ_STR (s_scalar (row, "kind"), info->kind_name);
            CHECK_EQ_STR (s_scalar (row, "namespaced"), info->namespaced ? "true" : "false");
        }
        hs_tree_free (t);
    }
}

static void test_aggregated (void)
{
    CHECK (api_discovery_wants_aggregated (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/"
        "json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"));
    CHECK (api_discovery_wants_aggregated (
        "application/json ; as=APIGroupDiscoveryList ; v=v2 ; g=apidiscovery.k8s.io"));
    CHECK (!api_discovery_wants_aggregated ("application/json, */*"));
    CHECK (!api_discovery_wants_aggregated (
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"));
    CHECK (!api_discovery_wants_aggregated (
        "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"));
    CHECK (!api_discovery_wants_aggregated ("application/json;g=apidiscovery.k8s.io;v=v2"));
    CHECK (!api_discovery_wants_aggregated (""));
    CHECK (!api_discovery_wants_aggregated (NULL));
    CHECK (!api_discovery_wants_aggregated (";;;,,,;=;"));

    hs_tree_t *t = api_discovery_api (true);
    CHECK_EQ_STR (s_scalar (t, "kind"), "APIGroupDiscoveryList");
    CHECK_EQ_STR (s_scalar (t, "apiVersion"), "apidiscovery.k8s.io/v2");
    const hs_tree_t *items = hs_tree_get (t, "items");
    CHECK (items && items->n == 1);
    const hs_tree_t *v1 = hs_tree_get (items->items[0], "versions")->items[0];
    CHECK_EQ_STR (s_scalar (v1, "version"), "v1");
    CHECK_EQ_STR (s_scalar (v1, "freshness"), "Current");
    const hs_tree_t *pods = s_find (hs_tree_get (v1, "resources"), "resource", "pods");
    CHECK (pods != NULL);
    CHECK_EQ_STR (s_scalar (pods, "scope"), "Namespaced");
    CHECK_EQ_STR (s_scalar (pods, "singularResource"), "pod");
    CHECK_EQ_STR (s_scalar (hs_tree_get (pods, "responseKind"), "kind"), "Pod");
    const hs_tree_t *ev = s_find (hs_tree_get (pods, "subresources"), "subresource", "eviction");
    CHECK (ev != NULL);
    CHECK_EQ_STR (s_scalar (hs_tree_get (ev, "responseKind"), "group"), "policy");
    CHECK_EQ_STR (s_scalar (hs_tree_get (ev, "responseKind"), "kind"), "Eviction");
    CHECK (s_find (hs_tree_get (pods, "subresources"), "subresource", "log") != NULL);
    const hs_tree_t *nodes = s_find (hs_tree_get (v1, "resources"), "resource", "nodes");
    CHECK_EQ_STR (s_scalar (nodes, "scope"), "Cluster");
    /* no subresource shows up as a resource */
    CHECK (s_find (hs_tree_get (v1, "resources"), "resource", "pods/log") == NULL);
    s_valid_json (t);
    hs_tree_free (t);

    t = api_discovery_apis (true);
    items = hs_tree_get (t, "items");
    CHECK (items && items->n == 4);
    const hs_tree_t *apps = NULL;
    for (size_t i = 0; items && i < items->n; i++)
        if (hs_streq (s_scalar (hs_tree_get (items->items[i], "metadata"), "name"), "apps"))
            apps = items->items[i];
    CHECK (apps != NULL);
    if (apps) {
        const hs_tree_t *rs = hs_tree_get (hs_tree_get (apps, "versions")->items[0], "resources");
        const hs_tree_t *dep = s_find (rs, "resource", "deployments");
        const hs_tree_t *sc = s_find (hs_tree_get (dep, "subresources"), "subresource", "scale");
        CHECK_EQ_STR (s_scalar (hs_tree_get (sc, "responseKind"), "group"), "autoscaling");
        CHECK (s_has_word (hs_tree_get (dep, "shortNames"), "deploy"));
    }
    hs_tree_free (t);
}

static void test_openapi (void)
{
    hs_tree_t *t = api_openapi_index ();
    char *text = s_json (t);
    CHECK_EQ_STR (text, "{\"paths\":{\"api/v1\":{\"serverRelativeURL\":\"/openapi/v3/api/v1\"},"
                        "\"apis/apps/v1\":{\"serverRelativeURL\":\"/openapi/v3/apis/apps/v1\"},"
                        "\"apis/batch/v1\":{\"serverRelativeURL\":\"/openapi/v3/apis/batch/v1\"},"
                        "\"apis/autoscaling/v2\":{\"serverRelativeURL\":\"/openapi/v3/apis/"
                        "autoscaling/v2\"}}}");
    free (text);
    hs_tree_free (t);

    CHECK (api_openapi_gv ("policy", "v1") == NULL);
    CHECK (api_openapi_gv ("autoscaling", "v1") == NULL);
    t = api_openapi_gv ("autoscaling", "v2");
    CHECK (t != NULL);
    CHECK (hs_tree_get (hs_tree_get (t, "paths"),
                        "/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/"
                        "{name}") != NULL);
    hs_tree_free (t);
    CHECK (api_openapi_gv ("apps", "v9") == NULL);

    t = api_openapi_gv ("batch", "v1");
    CHECK (t != NULL);
    const hs_tree_t *paths = hs_tree_get (t, "paths");
    CHECK (paths && paths->n == 1);
    const hs_tree_t *patch = hs_tree_get (
        hs_tree_get (paths, "/apis/batch/v1/namespaces/{namespace}/jobs/{name}"), "patch");
    CHECK (patch != NULL);
    const hs_tree_t *gvk = hs_tree_get (patch, "x-kubernetes-group-version-kind");
    CHECK_EQ_STR (s_scalar (gvk, "group"), "batch");
    CHECK_EQ_STR (s_scalar (gvk, "version"), "v1");
    CHECK_EQ_STR (s_scalar (gvk, "kind"), "Job");
    const hs_tree_t *fv = s_find (hs_tree_get (patch, "parameters"), "name", "fieldValidation");
    CHECK_EQ_STR (s_scalar (fv, "in"), "query");
    /* no requestBody: kubectl keeps its built-in patch types (see the banner) */
    CHECK (hs_tree_get (patch, "requestBody") == NULL);

    /* explain's schemas: the root by GVK, fields as api_obj_tree prints them */
    const hs_tree_t *schemas = hs_tree_get (hs_tree_get (t, "components"), "schemas");
    const hs_tree_t *job = hs_tree_get (schemas, "batch.v1.Job");
    CHECK (job != NULL);
    const hs_tree_t *jgvk = hs_tree_get (job, "x-kubernetes-group-version-kind");
    CHECK (jgvk && jgvk->type == HS_TREE_SEQ && jgvk->n == 1);
    const hs_tree_t *props = hs_tree_get (job, "properties");
    CHECK (hs_tree_get (props, "apiVersion") && hs_tree_get (props, "kind"));
    const hs_tree_t *spec = hs_tree_get (props, "spec");
    const hs_tree_t *ref = hs_tree_get (spec, "allOf")->items[0];
    CHECK_EQ_STR (s_scalar (ref, "$ref"), "#/components/schemas/hs.JobSpec");
    const hs_tree_t *js = hs_tree_get (hs_tree_get (schemas, "hs.JobSpec"), "properties");
    CHECK_EQ_STR (s_scalar (hs_tree_get (js, "backoffLimit"), "type"), "integer");
    CHECK_EQ_STR (s_scalar (hs_tree_get (js, "suspend"), "type"), "boolean");
    const hs_tree_t *meta = hs_tree_get (hs_tree_get (schemas, "hs.ObjectMeta"), "properties");
    CHECK_EQ_STR (s_scalar (hs_tree_get (meta, "resourceVersion"), "type"), "string");
    CHECK_EQ_STR (s_scalar (hs_tree_get (meta, "creationTimestamp"), "format"), "date-time");
    CHECK_EQ_STR (s_scalar (hs_tree_get (meta, "labels"), "type"), "object");
    const hs_tree_t *http = hs_tree_get (hs_tree_get (schemas, "hs.HTTPGetAction"), "properties");
    const hs_tree_t *port = hs_tree_get (hs_tree_get (http, "port"), "allOf")->items[0];
    CHECK_EQ_STR (s_scalar (port, "$ref"),
                  "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString");
    const hs_tree_t *ios = hs_tree_get (schemas, "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
    CHECK_EQ_STR (s_scalar (ios, "format"), "int-or-string");
    const hs_tree_t *pod = hs_tree_get (hs_tree_get (schemas, "hs.PodSpec"), "properties");
    CHECK_EQ_STR (s_scalar (hs_tree_get (pod, "containers"), "type"), "array");
    CHECK_EQ_STR (s_scalar (hs_tree_get (pod, "terminationGracePeriodSeconds"), "type"), "integer");
    s_valid_json (t);
    hs_tree_free (t);

    t = api_openapi_gv ("", "v1");
    paths = hs_tree_get (t, "paths");
    CHECK (hs_tree_get (paths, "/api/v1/nodes/{name}") != NULL);
    CHECK (hs_tree_get (paths, "/api/v1/namespaces/{namespace}/pods/{name}") != NULL);
    CHECK (hs_tree_get (paths, "/api/v1/namespaces/{name}") != NULL);
    schemas = hs_tree_get (hs_tree_get (t, "components"), "schemas");
    const hs_tree_t *ni = hs_tree_get (hs_tree_get (schemas, "hs.NodeSystemInfo"), "properties");
    CHECK (hs_tree_get (ni, "kubeletVersion") != NULL);
    CHECK (hs_tree_get (ni, "agentVersion") == NULL);
    CHECK (hs_tree_get (schemas, "core.v1.Namespace") != NULL);
    hs_tree_free (t);

    t = api_openapi_gv ("apps", "v1");
    CHECK (hs_tree_get (hs_tree_get (t, "paths"),
                        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}") != NULL);
    hs_tree_free (t);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"version", test_version},       {"legacy", test_legacy},   {"resources", test_resources},
        {"aggregated", test_aggregated}, {"openapi", test_openapi},
    };
    return HS_TEST_RUN (tests);
}
