/*  test_api_json.c: objects <-> Kubernetes JSON (services/apiserver/api_json.c). */
#include "api.h"
#include "hs_manifest.h"
#include "hs_test.h"
#include "hs_util.h"
#include "hs_validate.h"

#include <stdlib.h>
#include <string.h>

/* examples/ of this source tree: $HS_SRC/examples, else from __FILE__. */
static const char *s_examples (void)
{
    static char path[1024];
    if (path[0]) return path;
    const char *src = getenv ("HS_SRC");
    if (!hs_empty (src)) {
        snprintf (path, sizeof path, "%s/examples", src);
    } else {
        char here[900];
        snprintf (here, sizeof here, "%s", __FILE__);
        char *slash = strrchr (here, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf (here, sizeof here, ".");
        snprintf (path, sizeof path, "%s/../../examples", here);
    }
    return path;
}

static api_route_t s_route (hs_kind_t kind, const char *ns, const char *name)
{
    const hs_kind_info_t *i = hs_kind_info (kind);
    return (api_route_t){.path = API_PATH_RESOURCE,
                         .group = i ? i->group : "",
                         .version = "v1",
                         .kind = kind,
                         .ns = ns,
                         .name = name,
                         .sub = ""};
}

/* One JSON (or YAML) document, as the gateway parses a body. */
static hs_tree_t *s_parse (const char *text)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    int r = hs_yaml_parse (text, strlen (text), &docs, &n, &err);
    if (r < 0) {
        fprintf (stderr, "  parse: %s\n", err);
        free (err);
        return NULL;
    }
    CHECK_EQ_INT (n, 1);
    hs_tree_t *t = n ? docs[0] : NULL;
    for (size_t i = 1; i < n; i++) hs_tree_free (docs[i]);
    free (docs);
    return t;
}

static char *s_json (const hs_tree_t *t)
{
    return hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
}

/* api_obj_from_tree on text; 0 or -1, the Status's message in *ret_msg. */
static int s_decode (hs_kind_t kind, const char *ns, const char *name, const char *text,
                     api_validate_t v, Hs__Object **ret, api_warnings_t *w, char **ret_msg,
                     int *ret_http)
{
    hs_tree_t *t = s_parse (text);
    api_route_t route = s_route (kind, ns, name);
    api_status_t st = {0};
    Hs__Object *o = NULL;
    int r = api_obj_from_tree (&route, t, v, &o, w, &st);
    hs_tree_free (t);
    if (r == 0) {
        if (ret)
            *ret = o;
        else
            hs_pb_free (o);
    } else {
        CHECK (st.tree != NULL);
        if (ret_msg) *ret_msg = hs_strdup (st.message);
        if (ret_http) *ret_http = st.http;
        api_status_free (&st);
    }
    return r;
}

/* Every example (and the bookstore's) survives object -> JSON -> object,
 * with the store's defaults and server-set metadata as a live object has. */
static void s_round_trip_dir (const char *dir, size_t *count)
{
    hs_manifest_t m = {0};
    char *err = NULL;
    int r = hs_manifest_load (dir, false, &m, &err);
    if (r < 0) fprintf (stderr, "  %s\n", err);
    CHECK_EQ_INT (r, 0);
    free (err);
    for (size_t i = 0; i < m.n; i++) {
        Hs__Object *o = m.docs[i].object;
        hs_kind_t kind = hs_obj_kind (o);
        Hs__ObjectMeta *meta = hs_obj_meta (o);
        hs_pb_set_str (&meta->uid, "5f0c1c84-3b0e-4d4c-9f64-0a1b2c3d4e5f");
        /* times are whole seconds in Kubernetes' JSON (metav1.Time) */
        int64_t now = 1765000000LL * 1000000000LL;
        hs_obj_defaults (o, now);
        meta->resource_version = 4242;
        meta->generation = 3;
        meta->creation_timestamp = now;
        hs_obj_normalize (o);

        hs_tree_t *t = api_obj_tree (o);
        CHECK (t != NULL);
        char *text = s_json (t);
        hs_tree_free (t);
        CHECK_CONTAINS (text, "\"resourceVersion\":\"4242\"");
        CHECK_CONTAINS (text, "\"creationTimestamp\":\"2025-12-06T05:46:40Z\"");

        Hs__Object *back = NULL;
        char *msg = NULL;
        const char *ns = meta->namespace_;
        r = s_decode (kind, hs_s (ns), meta->name, text, API_VALIDATE_STRICT, &back, NULL, &msg,
                      NULL);
        if (r < 0) fprintf (stderr, "  %s: %s\n  %s\n", m.docs[i].file, msg, text);
        CHECK_EQ_INT (r, 0);
        if (r == 0) {
            bool eq = hs_pb_equal (o, back);
            if (!eq) {
                char *a = hs_manifest_render (o, HS_FMT_YAML), *b = hs_manifest_render (back, 1);
                fprintf (stderr, "  %s differs:\n%s---\n%s", m.docs[i].file, a, b);
                free (a);
                free (b);
            }
            CHECK (eq);
            hs_pb_free (back);
        }
        free (msg);
        free (text);
        (*count)++;
    }
    hs_manifest_free (&m);
}

static void test_round_trip_examples (void)
{
    size_t n = 0;
    s_round_trip_dir (s_examples (), &n);
    char *book = hs_sprintf ("%s/bookstore", s_examples ());
    s_round_trip_dir (book, &n);
    free (book);
    CHECK (n >= 7);
}

/* Objects with what examples lack: status, events' references, nodes,
 * secrets' bytes, named ports. */
static const char *const s_objects[] = {
    "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"demo\"},"
    "\"spec\":{\"unschedulable\":true,\"taints\":[{\"key\":\"k\",\"effect\":\"NoSchedule\","
    "\"timeAdded\":\"2026-01-02T03:04:05Z\"}],\"podCIDR\":\"10.0.0.0/24\"},"
    "\"status\":{\"capacity\":{\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"},"
    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
    "\"lastHeartbeatTime\":\"2026-01-02T03:04:05Z\"}],"
    "\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.1.2.3\"}],"
    "\"nodeInfo\":{\"kernelVersion\":\"6.1\",\"kubeletVersion\":\"hs-0.1\"}}}",
    "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"web.1\","
    "\"namespace\":\"default\",\"resourceVersion\":\"17\"},\"involvedObject\":{\"kind\":\"Pod\","
    "\"namespace\":\"default\",\"name\":\"web\",\"uid\":\"u1\",\"apiVersion\":\"v1\","
    "\"resourceVersion\":\"12\"},\"reason\":\"Started\",\"message\":\"hi\","
    "\"firstTimestamp\":\"2026-01-02T03:04:05Z\",\"count\":2,\"type\":\"Normal\"}",
    "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\","
    "\"namespace\":\"default\"},\"data\":{\"k\":\"aGVsbG8=\"},\"type\":\"Opaque\"}",
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","
    "\"namespace\":\"default\"},\"spec\":{\"ports\":[{\"name\":\"a\",\"port\":80,"
    "\"targetPort\":8080},{\"name\":\"b\",\"port\":81,\"targetPort\":\"http\"}],"
    "\"selector\":{\"app\":\"web\"}}}",
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
    "\"namespace\":\"default\",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
    "\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"uid\":\"u\",\"controller\":true}]},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"livenessProbe\":{\"tcpSocket\":{\"port\":\"0080\"}"
    "},"
    "\"readinessProbe\":{\"httpGet\":{\"port\":\"http\"}}}]},"
    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.5\",\"startTime\":\"2026-01-02T03:04:"
    "05Z\","
    "\"containerStatuses\":[{\"name\":\"c\",\"state\":{\"running\":{\"startedAt\":"
    "\"2026-01-02T03:04:05Z\"}},\"ready\":true,\"restartCount\":1}]}}",
};

/* Every key of want is in got with the same value and type. */
static bool s_subset (const hs_tree_t *want, const hs_tree_t *got)
{
    if (!want || !got || want->type != got->type) return false;
    switch (want->type) {
    case HS_TREE_NULL: return true;
    case HS_TREE_SCALAR: return !strcmp (want->scalar, got->scalar) && want->quoted == got->quoted;
    case HS_TREE_MAP:
        for (size_t i = 0; i < want->n; i++)
            if (!s_subset (want->items[i], hs_tree_get (got, want->keys[i]))) return false;
        return true;
    case HS_TREE_SEQ:
        if (want->n != got->n) return false;
        for (size_t i = 0; i < want->n; i++)
            if (!s_subset (want->items[i], got->items[i])) return false;
        return true;
    }
    return false;
}

static void test_round_trip_objects (void)
{
    for (size_t i = 0; i < HS_ARRAY_LEN (s_objects); i++) {
        /* the same object in manifest form (hs_manifest): revisions are
         * numbers there, and the node agent's version has its own name */
        hs_manifest_t m = {0};
        char *err = NULL;
        char *fixed = hs_strdup (s_objects[i]);
        for (char *p = fixed; (p = strstr (p, "\"resourceVersion\":\""));) {
            p += strlen ("\"resourceVersion\":");
            *p = ' ';
            char *q = strchr (p, '"');
            if (q) *q = ' ';
        }
        char *kv = strstr (fixed, "kubeletVersion");
        if (kv) { /* same length: "agentVersion\":" and two spaces */
            memcpy (kv, "agentVersion\":", strlen ("agentVersion\":"));
            memset (kv + strlen ("agentVersion\":"), ' ', 2);
        }
        int r = hs_manifest_parse (fixed, strlen (fixed), "obj", &m, &err);
        free (fixed);
        if (r < 0) fprintf (stderr, "  %s\n", err);
        CHECK_EQ_INT (r, 0);
        free (err);
        if (r < 0) continue;
        Hs__Object *o = m.docs[0].object;
        Hs__ObjectMeta *meta = hs_obj_meta (o);
        hs_tree_t *t = api_obj_tree (o);
        char *text = s_json (t);
        hs_tree_free (t);
        /* the JSON reads as Kubernetes': what we wrote is all there, with
         * the same types (and fields Kubernetes always writes added) */
        hs_tree_t *want = s_parse (s_objects[i]);
        hs_tree_t *got = s_parse (text);
        bool sub = s_subset (want, got);
        if (!sub) fprintf (stderr, "  want %s\n  got  %s\n", s_objects[i], text);
        CHECK (sub);
        hs_tree_free (want);
        hs_tree_free (got);

        Hs__Object *back = NULL;
        r = s_decode (hs_obj_kind (o), hs_s (meta->namespace_), meta->name, text,
                      API_VALIDATE_STRICT, &back, NULL, NULL, NULL);
        CHECK_EQ_INT (r, 0);
        if (r == 0) CHECK (hs_pb_equal (o, back));
        hs_pb_free (back);
        free (text);
        hs_manifest_free (&m);
    }
}

/* Int-or-string fields print as numbers when they are numbers (kubectl
 * apply compares them with the manifest's: pitfall 6), and come back. */
static void test_int_or_string (void)
{
    const char *dep = "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":"
                      "{\"a\":\"b\"}},\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,"
                      "\"maxUnavailable\":\"25%\"}},\"template\":{\"metadata\":{\"labels\":"
                      "{\"a\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
                      "\"readinessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":8080}}}]}}}}";
    Hs__Object *o = NULL;
    int r = s_decode (HS_KIND_DEPLOYMENT, "default", "", dep, API_VALIDATE_STRICT, &o, NULL, NULL,
                      NULL);
    CHECK_EQ_INT (r, 0);
    if (r < 0) return;
    /* stored as strings */
    CHECK_EQ_STR (o->deployment->spec->strategy->rolling_update->max_surge, "1");
    CHECK_EQ_STR (
        o->deployment->spec->template_->spec->containers[0]->readiness_probe->http_get->port,
        "8080");
    CHECK_EQ_STR (o->deployment->metadata->namespace_, "default");
    hs_tree_t *t = api_obj_tree (o);
    char *text = s_json (t);
    CHECK_CONTAINS (text, "\"maxSurge\":1}");
    CHECK_CONTAINS (text, "\"maxUnavailable\":\"25%\"");
    CHECK_CONTAINS (text, "\"port\":8080}");
    CHECK_CONTAINS (text, "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",");
    hs_tree_free (t);
    free (text);
    hs_pb_free (o);

    /* not canonical numbers: strings stay strings */
    const char *odd[] = {"0080", "2147483648", "-1", "+5", "http", "1e3"};
    for (size_t i = 0; i < HS_ARRAY_LEN (odd); i++) {
        Hs__Object *p = hs_obj_new (HS_KIND_SERVICE, "default", "s");
        Hs__ServiceSpec *spec = hs_pb_new (&hs__service_spec__descriptor);
        p->service->spec = spec;
        Hs__ServicePort *port = hs_pb_new (&hs__service_port__descriptor);
        port->port = 80;
        hs_pb_set_str (&port->target_port, odd[i]);
        hs_pb_push ((void ***)&spec->ports, &spec->n_ports, port);
        hs_tree_t *pt = api_obj_tree (p);
        char *ptext = s_json (pt);
        char *want = hs_sprintf ("\"targetPort\":\"%s\"", odd[i]);
        CHECK_CONTAINS (ptext, want);
        free (want);
        hs_tree_free (pt);
        free (ptext);
        hs_pb_free (p);
    }
}

/* What Kubernetes always writes and python's models require. */
static void test_required_fields (void)
{
    const char *pod = "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
                      "\"ports\":[{\"containerPort\":80}]}]},\"status\":{\"containerStatuses\":"
                      "[{\"name\":\"c\",\"state\":{\"terminated\":{\"reason\":\"Completed\"}}}]}}";
    Hs__Object *o = NULL;
    int r = s_decode (HS_KIND_POD, "default", "p", pod, API_VALIDATE_STRICT, &o, NULL, NULL, NULL);
    CHECK_EQ_INT (r, 0);
    if (r < 0) return;
    hs_tree_t *t = api_obj_tree (o);
    char *text = s_json (t);
    CHECK_CONTAINS (text, "\"containerStatuses\":[{\"name\":\"c\",\"state\":{\"terminated\":"
                          "{\"reason\":\"Completed\",\"exitCode\":0}},\"ready\":false,"
                          "\"restartCount\":0,\"image\":\"\",\"imageID\":\"\"}]");
    /* and it reads back as the same object */
    Hs__Object *back = NULL;
    r = s_decode (HS_KIND_POD, "default", "p", text, API_VALIDATE_STRICT, &back, NULL, NULL, NULL);
    CHECK_EQ_INT (r, 0);
    if (back) CHECK (hs_pb_equal (o, back));
    hs_pb_free (back);
    hs_tree_free (t);
    free (text);
    hs_pb_free (o);

    const char *node = "{\"metadata\":{\"name\":\"n\"},\"status\":{\"nodeInfo\":"
                       "{\"kernelVersion\":\"6.1\"}}}";
    o = NULL;
    r = s_decode (HS_KIND_NODE, "", "n", node, API_VALIDATE_STRICT, &o, NULL, NULL, NULL);
    CHECK_EQ_INT (r, 0);
    if (r < 0) return;
    t = api_obj_tree (o);
    text = s_json (t);
    CHECK_CONTAINS (text, "\"nodeInfo\":{\"kernelVersion\":\"6.1\",\"machineID\":\"\","
                          "\"osImage\":\"\",\"architecture\":\"\",\"kubeletVersion\":\"\","
                          "\"systemUUID\":\"\",\"bootID\":\"\",\"containerRuntimeVersion\":\"\","
                          "\"kubeProxyVersion\":\"\",\"operatingSystem\":\"linux\"}");
    back = NULL;
    r = s_decode (HS_KIND_NODE, "", "n", text, API_VALIDATE_STRICT, &back, NULL, NULL, NULL);
    CHECK_EQ_INT (r, 0);
    if (back) CHECK (hs_pb_equal (o, back));
    hs_pb_free (back);
    hs_tree_free (t);
    free (text);
    hs_pb_free (o);

    /* a ReplicaSet scaled to zero still says replicas: 0 */
    Hs__Object *rs = hs_obj_new (HS_KIND_REPLICASET, "default", "rs");
    rs->replica_set->status = hs_pb_new (&hs__replica_set_status__descriptor);
    t = api_obj_tree (rs);
    text = s_json (t);
    CHECK_CONTAINS (text, "\"status\":{\"replicas\":0}");
    hs_tree_free (t);
    free (text);
    hs_pb_free (rs);

    /* an HPA's status says desiredReplicas: 0, as autoscaling/v2 writes it
     * (currentReplicas is omitempty there) */
    Hs__Object *hpa = hs_obj_new (HS_KIND_HPA, "default", "web");
    hpa->horizontal_pod_autoscaler->status =
        hs_pb_new (&hs__horizontal_pod_autoscaler_status__descriptor);
    t = api_obj_tree (hpa);
    text = s_json (t);
    CHECK_CONTAINS (text, "\"status\":{\"desiredReplicas\":0}");
    hs_tree_free (t);
    free (text);
    hs_pb_free (hpa);
}

static void test_unknown_fields (void)
{
    const char *body = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":"
                       "{\"name\":\"d\"},\"spec\":{\"bogus\":1,\"selector\":{\"matchLabels\":"
                       "{\"a\":\"b\"}},\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\"},"
                       "{\"name\":\"e\",\"imag\":\"x\",\"x\":{\"y\":1}}]}}},\"extra\":[1]}";
    char *msg = NULL;
    int http = 0;
    int r = s_decode (HS_KIND_DEPLOYMENT, "default", "", body, API_VALIDATE_STRICT, NULL, NULL,
                      &msg, &http);
    CHECK_EQ_INT (r, -1);
    CHECK_EQ_INT (http, 400);
    CHECK_EQ_STR (msg, "strict decoding error: unknown field \"spec.bogus\", unknown field "
                       "\"spec.template.spec.containers[1].imag\", unknown field "
                       "\"spec.template.spec.containers[1].x\", unknown field \"extra\"");
    free (msg);

    api_warnings_t w = {0};
    Hs__Object *o = NULL;
    r = s_decode (HS_KIND_DEPLOYMENT, "default", "", body, API_VALIDATE_WARN, &o, &w, NULL, NULL);
    CHECK_EQ_INT (r, 0);
    CHECK_EQ_INT (w.n, 4);
    if (w.n == 4) {
        CHECK_EQ_STR (w.texts[0], "unknown field \"spec.bogus\"");
        CHECK_EQ_STR (w.texts[3], "unknown field \"extra\"");
    }
    if (o) CHECK_EQ_INT (o->deployment->spec->template_->spec->n_containers, 2);
    hs_pb_free (o);
    api_warnings_free (&w);
    CHECK (w.n == 0 && w.texts == NULL);

    o = NULL;
    r = s_decode (HS_KIND_DEPLOYMENT, "default", "", body, API_VALIDATE_IGNORE, &o, &w, NULL, NULL);
    CHECK_EQ_INT (r, 0);
    CHECK_EQ_INT (w.n, 0);
    hs_pb_free (o);
}

/* What kubectl and python send that means nothing here: no error, no
 * warning, even with Strict. */
static void test_quiet_fields (void)
{
    /* kubectl create deployment --dry-run=client -o json, plus edit's and
     * python's habits */
    const char *body =
        "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"d2\","
        "\"creationTimestamp\":null,\"labels\":{\"app\":\"d2\"},\"managedFields\":[{\"manager\":"
        "\"kubectl\"}],\"selfLink\":\"/x\",\"resourceVersion\":\"\"},\"spec\":{\"replicas\":1,"
        "\"selector\":{\"matchLabels\":{\"app\":\"d2\"}},\"strategy\":{},\"template\":"
        "{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"d2\"}},\"spec\":"
        "{\"containers\":[{\"name\":\"x\",\"image\":\"x\",\"resources\":{},"
        "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":"
        "\"File\",\"imagePullPolicy\":\"Always\",\"tty\":false,\"affinity\":null}],"
        "\"dnsPolicy\":\"ClusterFirst\",\"schedulerName\":\"default-scheduler\","
        "\"serviceAccountName\":\"default\",\"securityContext\":{}}}},\"status\":{\"replicas\":3,"
        "\"collisionCount\":0,\"someFutureField\":{\"a\":1}}}";
    api_warnings_t w = {0};
    Hs__Object *o = NULL;
    char *msg = NULL;
    int r =
        s_decode (HS_KIND_DEPLOYMENT, "default", "", body, API_VALIDATE_STRICT, &o, &w, &msg, NULL);
    if (r < 0) fprintf (stderr, "  %s\n", msg);
    CHECK_EQ_INT (r, 0);
    CHECK_EQ_INT (w.n, 0);
    free (msg);
    if (o) {
        CHECK_EQ_INT (o->deployment->metadata->resource_version, 0);
        CHECK_EQ_STR (o->deployment->spec->template_->spec->containers[0]->image_pull_policy,
                      "Always");
        CHECK (o->deployment->status == NULL); /* a create ignores status */
    }
    hs_pb_free (o);
    api_warnings_free (&w);

    /* an update keeps the status it understands (the store decides what
     * a write of the main resource may change), quietly drops the rest */
    o = NULL;
    r = s_decode (HS_KIND_DEPLOYMENT, "default", "d2", body, API_VALIDATE_STRICT, &o, &w, NULL,
                  NULL);
    CHECK_EQ_INT (r, 0);
    CHECK_EQ_INT (w.n, 0);
    if (o) CHECK (o->deployment->status && o->deployment->status->replicas == 3);
    hs_pb_free (o);

    /* with a meaning, they are not quiet: a tty, another service account */
    const char *tty = "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
                      "\"tty\":true}],\"serviceAccountName\":\"robot\"}}";
    r = s_decode (HS_KIND_POD, "default", "", tty, API_VALIDATE_STRICT, NULL, NULL, &msg, NULL);
    CHECK_EQ_INT (r, -1);
    CHECK_EQ_STR (msg, "strict decoding error: unknown field \"spec.containers[0].tty\", unknown "
                       "field \"spec.serviceAccountName\"");
    free (msg);
}

static void test_defaults_and_mismatches (void)
{
    struct {
        hs_kind_t kind;
        const char *ns, *name, *body;
        int http; /* 0: accepted */
        const char *msg;
    } cases[] = {
        /* python models: no apiVersion, no kind, no namespace */
        {HS_KIND_POD, "team", "", "{\"metadata\":{\"name\":\"p\"}}", 0, NULL},
        {HS_KIND_POD, "team", "", "{\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"p\"}}", 400,
         "the API version in the data (apps/v1) does not match the expected API version (v1)"},
        {HS_KIND_POD, "team", "", "{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"p\"}}", 400,
         "the kind in the data (Deployment) does not match the expected kind (Pod)"},
        {HS_KIND_POD, "team", "", "{\"metadata\":{\"name\":\"p\",\"namespace\":\"other\"}}", 400,
         "the namespace of the provided object does not match the namespace sent on the request"},
        {HS_KIND_POD, "team", "q", "{\"metadata\":{\"name\":\"p\"}}", 400,
         "the name of the object (p) does not match the name on the URL (q)"},
        {HS_KIND_POD, "team", "q", "{\"spec\":{}}", 0, NULL},
        {HS_KIND_NODE, "", "", "{\"metadata\":{\"name\":\"n\",\"namespace\":\"x\"}}", 0, NULL},
        {HS_KIND_DEPLOYMENT, "team", "",
         "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"replicas\":"
         "\"three\"}}",
         400,
         "Deployment in version \"v1\" cannot be handled as a Deployment: spec.replicas: expected "
         "an integer, got string \"three\""},
        {HS_KIND_POD, "team", "", "{\"metadata\":{\"name\":\"p\",\"resourceVersion\":\"12\"}}", 0,
         NULL},
        {HS_KIND_POD, "team", "", "{\"metadata\":{\"name\":\"p\",\"resourceVersion\":12}}", 0,
         NULL},
        {HS_KIND_POD, "team", "", "{\"metadata\":{\"name\":\"p\",\"resourceVersion\":\"abc\"}}",
         400,
         "Pod in version \"v1\" cannot be handled as a Pod: metadata.resourceVersion: expected an "
         "integer, got string \"abc\""},
        {HS_KIND_POD, "team", "", "[1,2]", 400, NULL},
        {HS_KIND_POD, "team", "", "\"x\"", 400, NULL},
        {HS_KIND_POD, "team", "", "null", 400, NULL},
        {HS_KIND_POD, "team", "", "{\"apiVersion\":{\"a\":1}}", 400,
         "apiVersion: expected a string"},
        {HS_KIND_POD, "team", "", "{\"kind\":[]}", 400, "kind: expected a string"},
        {HS_KIND_POD, "team", "", "{\"metadata\":[]}", 400, NULL},
        {HS_KIND_POD, "team", "", "{\"spec\":{\"containers\":{\"a\":1}}}", 400, NULL},
        {API_KIND_NAMESPACE, "", "", "{\"metadata\":{\"name\":\"n\"}}", 400, NULL},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        Hs__Object *o = NULL;
        char *msg = NULL;
        int http = 0;
        int r = s_decode (cases[i].kind, cases[i].ns, cases[i].name, cases[i].body,
                          API_VALIDATE_STRICT, &o, NULL, &msg, &http);
        if ((r == 0) != (cases[i].http == 0))
            fprintf (stderr, "  case %zu: %s: %s\n", i, cases[i].body, hs_s (msg));
        CHECK_EQ_INT (r, cases[i].http ? -1 : 0);
        if (r < 0) CHECK_EQ_INT (http, cases[i].http);
        if (r < 0 && cases[i].msg) CHECK_EQ_STR (msg, cases[i].msg);
        if (r == 0) {
            Hs__ObjectMeta *m = hs_obj_meta (o);
            CHECK (m != NULL);
            if (m && hs_kind_info (cases[i].kind)->namespaced) CHECK_EQ_STR (m->namespace_, "team");
            if (m && !hs_kind_info (cases[i].kind)->namespaced) CHECK (hs_empty (m->namespace_));
            if (m && !hs_empty (cases[i].name)) CHECK_EQ_STR (m->name, cases[i].name);
            if (m && strstr (cases[i].body, "resourceVersion"))
                CHECK_EQ_INT (m->resource_version, 12);
        }
        hs_pb_free (o);
        free (msg);
    }
}

static void test_list_meta_namespace (void)
{
    Hs__Object *a = hs_obj_new (HS_KIND_POD, "default", "a");
    Hs__Object *b = hs_obj_new (HS_KIND_POD, "kube-system", "b");
    a->pod->metadata->resource_version = 7;
    hs_pb_set_str (&a->pod->metadata->uid, "u-a");
    const Hs__Object *objs[] = {a, b};
    hs_tree_t *t = api_list_tree (HS_KIND_POD, objs, 2, 99);
    char *text = s_json (t);
    CHECK_EQ_STR (text,
                  "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":"
                  "{\"resourceVersion\":\"99\"},\"items\":[{\"apiVersion\":\"v1\",\"kind\":"
                  "\"Pod\",\"metadata\":{\"name\":\"a\",\"namespace\":\"default\",\"uid\":"
                  "\"u-a\",\"resourceVersion\":\"7\"},\"status\":{}},{\"apiVersion\":\"v1\","
                  "\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\",\"namespace\":\"kube-system\"},"
                  "\"status\":{}}]}"); /* a pod with no status yet: {} as Kubernetes */
    free (text);
    hs_tree_free (t);

    t = api_list_tree (HS_KIND_DEPLOYMENT, NULL, 0, 5);
    text = s_json (t);
    CHECK_EQ_STR (text, "{\"kind\":\"DeploymentList\",\"apiVersion\":\"apps/v1\",\"metadata\":"
                        "{\"resourceVersion\":\"5\"},\"items\":[]}");
    free (text);
    hs_tree_free (t);

    t = api_obj_meta_tree (a);
    text = s_json (t);
    CHECK_EQ_STR (text, "{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\","
                        "\"metadata\":{\"name\":\"a\",\"namespace\":\"default\",\"uid\":\"u-a\","
                        "\"resourceVersion\":\"7\"}}");
    free (text);
    hs_tree_free (t);

    t = api_namespace_tree ("team", 1765000000LL * 1000000000LL);
    text = s_json (t);
    CHECK_EQ_STR (text, "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
                        "\"team\",\"creationTimestamp\":\"2025-12-06T05:46:40Z\",\"labels\":"
                        "{\"kubernetes.io/metadata.name\":\"team\"}},\"spec\":{\"finalizers\":"
                        "[\"kubernetes\"]},\"status\":{\"phase\":\"Active\"}}");
    free (text);
    hs_tree_free (t);
    hs_pb_free (a);
    hs_pb_free (b);
}

static void test_warnings (void)
{
    api_warnings_t w = {0};
    api_warn (&w, "a %d", 1);
    api_warn (&w, "a %d", 1);
    api_warn (&w, "b");
    CHECK_EQ_INT (w.n, 2);
    for (int i = 0; i < 200; i++) api_warn (&w, "n%d", i);
    CHECK (w.n <= 64);
    api_warn (NULL, "nothing");
    api_warnings_free (&w);
    /* a field name from a client cannot break a header line */
    api_warn (&w, "unknown field \"%s\"", "bo\r\ngus\x7f\t");
    CHECK_EQ_INT (w.n, 1);
    if (w.n) CHECK_EQ_STR (w.texts[0], "unknown field \"bo??gus??\"");
    api_warnings_free (&w);
    char big[2000];
    memset (big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    api_warn (&w, "%s", big);
    CHECK (w.n == 1 && strlen (w.texts[0]) == 512);
    api_warnings_free (&w);
    api_warnings_free (&w);
    api_warnings_free (NULL);
}

/* Mangled bodies never crash and always answer (0 or a 400). */
static void test_fuzz (void)
{
    hs_manifest_t m = {0};
    char *err = NULL;
    int r = hs_manifest_load (s_examples (), false, &m, &err);
    CHECK_EQ_INT (r, 0);
    free (err);
    uint32_t seed = 12345;
    const char subst[] = "{}[]:,\"0a- \\n";
    for (size_t i = 0; i < m.n; i++) {
        hs_tree_t *t = api_obj_tree (m.docs[i].object);
        char *text = s_json (t);
        hs_tree_free (t);
        size_t len = strlen (text);
        for (int round = 0; round < 300; round++) {
            char *buf = hs_strdup (text);
            for (int k = 0; k < 4; k++) {
                seed = seed * 1103515245u + 12345u;
                buf[(seed >> 8) % len] = subst[(seed >> 20) % (sizeof subst - 1)];
            }
            hs_tree_t **docs = NULL;
            size_t n = 0;
            char *perr = NULL;
            if (hs_yaml_parse (buf, len, &docs, &n, &perr) == 0) {
                for (size_t d = 0; d < n; d++) {
                    for (int v = 0; v < 3; v++) {
                        api_route_t route = s_route (hs_obj_kind (m.docs[i].object), "default",
                                                     (round & 1) ? "x" : "");
                        Hs__Object *o = NULL;
                        api_status_t st = {0};
                        api_warnings_t w = {0};
                        int rr =
                            api_obj_from_tree (&route, docs[d], (api_validate_t)v, &o, &w, &st);
                        if (rr == 0) {
                            CHECK (o != NULL);
                            hs_pb_free (o);
                        } else {
                            CHECK_EQ_INT (st.http, 400);
                            api_status_free (&st);
                        }
                        api_warnings_free (&w);
                    }
                }
                hs_trees_free (docs, n);
            }
            free (perr);
            free (buf);
        }
        free (text);
    }
    hs_manifest_free (&m);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"round_trip_examples", test_round_trip_examples},
        {"round_trip_objects", test_round_trip_objects},
        {"int_or_string", test_int_or_string},
        {"required_fields", test_required_fields},
        {"unknown_fields", test_unknown_fields},
        {"quiet_fields", test_quiet_fields},
        {"defaults_and_mismatches", test_defaults_and_mismatches},
        {"list_meta_namespace", test_list_meta_namespace},
        {"warnings", test_warnings},
        {"fuzz", test_fuzz},
    };
    return HS_TEST_RUN (tests);
}
