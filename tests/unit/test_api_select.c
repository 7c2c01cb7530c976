/*  test_api_select.c: hs-apiserver's selectors (services/apiserver/api_select.c):
 *  label selectors (every operator), field selectors as kubectl sends them
 *  (describe, drain, delete-wait, events), escapes, AND, != on phases,
 *  cluster-scoped objects' events, and the apiserver's 400 texts per kind.
 */
#include "api.h"
#include "hs_manifest.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

static hs_manifest_t s_m;

static const Hs__Object *s_obj (const char *kind, const char *name)
{
    for (size_t i = 0; i < s_m.n; i++) {
        const Hs__Object *o = s_m.docs[i].object;
        if (!strcmp (hs_kind_info (hs_obj_kind (o))->kind_name, kind) &&
            !strcmp (hs_obj_meta (o)->name, name))
            return o;
    }
    fprintf (stderr, "  no %s %s\n", kind, name);
    abort ();
}

/* Whether the selectors parse for kind and match kind/name. */
static bool s_match (const char *lsel, const char *fsel, const char *kind, const char *name)
{
    api_selector_t *s = NULL;
    api_status_t st = {0};
    const Hs__Object *o = s_obj (kind, name);
    if (api_selector_parse (hs_obj_kind (o), lsel, fsel, &s, &st) < 0) {
        fprintf (stderr, "  unexpected: %s\n", st.message);
        api_status_free (&st);
        hs_test_failures++;
        return false;
    }
    bool r = api_selector_match (s, o);
    api_selector_free (&s);
    CHECK (s == NULL);
    return r;
}

/* The 400 message for a selector that does not parse, or NULL. Caller frees. */
static char *s_error (hs_kind_t kind, const char *lsel, const char *fsel)
{
    api_selector_t *s = NULL;
    api_status_t st = {0};
    if (api_selector_parse (kind, lsel, fsel, &s, &st) == 0) {
        api_selector_free (&s);
        return NULL;
    }
    CHECK (s == NULL);
    CHECK_EQ_INT (st.http, 400);
    CHECK_EQ_STR (st.reason, "BadRequest");
    char *msg = hs_strdup (st.message);
    api_status_free (&st);
    return msg;
}

static const char *OBJECTS =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: default\n"
    "  uid: u-web\n  labels: {app: web, tier: fe}\n"
    "spec: {nodeName: demo, containers: [{name: main, image: busybox}]}\n"
    "status: {phase: Running, podIP: 10.0.0.1}\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: api-1\n  namespace: default\n"
    "  labels: {app: api, pod-template-hash: 193e1762ad}\n"
    "spec: {nodeName: demo, restartPolicy: Never, hostNetwork: true, schedulerName: "
    "custom,\n       containers: [{name: main, image: busybox}]}\n"
    "status: {phase: Succeeded}\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: batch\n  namespace: jobs\n"
    "  labels: {app: \"a,b\", legacy: \"true\"}\n"
    "spec: {nodeName: demo2, containers: [{name: main, image: busybox}]}\n"
    "status: {phase: Failed}\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\nmetadata: {name: pending, namespace: default}\n"
    "spec: {containers: [{name: main, image: busybox}]}\n"
    "---\n"
    "apiVersion: v1\nkind: Node\nmetadata: {name: demo, uid: u-demo, labels: {zone: a}}\n"
    "spec: {unschedulable: true}\n"
    "---\n"
    "apiVersion: v1\nkind: Node\nmetadata: {name: demo2, uid: u-demo2}\n"
    "---\n"
    "apiVersion: v1\nkind: Event\nmetadata: {name: web.1, namespace: default}\n"
    "involvedObject: {kind: Pod, apiVersion: v1, name: web, namespace: default, uid: u-web,\n"
    "                 fieldPath: \"spec.containers{main}\", resourceVersion: 12}\n"
    "reason: BackOff\ntype: Warning\nsource: {component: hs-agent, host: demo}\n"
    "reportingComponent: hs-agent\n"
    "---\n"
    "apiVersion: v1\nkind: Event\nmetadata: {name: demo.1, namespace: default}\n"
    "involvedObject: {kind: Node, apiVersion: v1, name: demo, namespace: default, uid: "
    "u-demo}\n"
    "reason: NodeNotReady\ntype: Normal\nreportingComponent: hs-prober\n"
    "---\n"
    "apiVersion: v1\nkind: Event\nmetadata: {name: demo.2, namespace: default}\n"
    "involvedObject: {kind: Node, apiVersion: v1, name: demo, uid: u-demo}\n"
    "reason: Cordoned\ntype: Normal\n"
    "---\n"
    "apiVersion: v1\nkind: Secret\nmetadata: {name: s1, namespace: default}\n"
    "---\n"
    "apiVersion: v1\nkind: Secret\nmetadata: {name: s2, namespace: default}\n"
    "type: kubernetes.io/tls\n"
    "---\n"
    "apiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: default}\n"
    "spec: {clusterIP: 10.96.0.10, ports: [{port: 53}]}\n"
    "---\n"
    "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once, namespace: default}\n"
    "spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: x}]}}}\n"
    "status: {succeeded: 1}\n"
    "---\n"
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: wd, namespace: default, labels: "
    "{app: wd}}\n"
    "spec:\n  selector: {matchLabels: {app: wd}}\n"
    "  template: {metadata: {labels: {app: wd}}, spec: {containers: [{name: c, image: "
    "x}]}}\n";

static void test_labels (void)
{
    CHECK (s_match ("app=web", NULL, "Pod", "web"));
    CHECK (s_match ("app==web", NULL, "Pod", "web"));
    CHECK (!s_match ("app=api", NULL, "Pod", "web"));
    CHECK (s_match ("app!=api", NULL, "Pod", "web"));
    CHECK (s_match ("app!=api", NULL, "Pod", "pending")); /* no label: != holds */
    CHECK (s_match ("app in (wd,web)", NULL, "Pod", "web"));
    CHECK (s_match ("app in (wd, web )", NULL, "Pod", "web"));
    CHECK (!s_match ("app in (wd,api)", NULL, "Pod", "web"));
    CHECK (s_match ("app notin (wd,api)", NULL, "Pod", "web"));
    CHECK (!s_match ("app notin (web)", NULL, "Pod", "web"));
    CHECK (s_match ("tier", NULL, "Pod", "web"));
    CHECK (!s_match ("tier", NULL, "Pod", "api-1"));
    CHECK (s_match ("!tier", NULL, "Pod", "api-1"));
    CHECK (!s_match ("!tier", NULL, "Pod", "web"));
    /* comma = AND; describe rs sends both */
    CHECK (s_match ("app=api,pod-template-hash=193e1762ad", NULL, "Pod", "api-1"));
    CHECK (!s_match ("app=api,pod-template-hash=x", NULL, "Pod", "api-1"));
    CHECK (s_match ("", NULL, "Pod", "pending"));
    CHECK (s_match (NULL, NULL, "Pod", "pending"));
    CHECK (s_match ("zone=a", NULL, "Node", "demo"));
    /* labels and fields together */
    CHECK (s_match ("app in (wd,web)", "spec.nodeName=demo", "Pod", "web"));
    CHECK (!s_match ("app in (wd,web)", "spec.nodeName=demo2", "Pod", "web"));
    /* bad ones: 400 with the parser's text */
    char *e = s_error (HS_KIND_POD, "app in (", NULL);
    CHECK_CONTAINS (e, "unable to parse requirement");
    free (e);
    e = s_error (HS_KIND_POD, "a b=c", NULL);
    CHECK (e != NULL);
    free (e);
    e = s_error (HS_KIND_POD, "app=,", NULL);
    CHECK (e != NULL);
    free (e);
    e = s_error (HS_KIND_POD, "app=a b", NULL);
    CHECK_CONTAINS (e, "Invalid value");
    free (e);
    /* a NULL selector matches everything */
    CHECK (api_selector_match (NULL, s_obj ("Pod", "web")));
}

static void test_pod_fields (void)
{
    CHECK (s_match (NULL, "metadata.name=web", "Pod", "web"));
    CHECK (!s_match (NULL, "metadata.name=web", "Pod", "api-1"));
    CHECK (s_match (NULL, "metadata.namespace=default", "Pod", "web"));
    CHECK (s_match (NULL, "metadata.namespace!=default", "Pod", "batch"));
    CHECK (s_match (NULL, "spec.nodeName=demo", "Pod", "web"));
    CHECK (s_match (NULL, "spec.host=demo", "Pod", "web"));
    CHECK (s_match (NULL, "spec.nodeName=", "Pod", "pending")); /* unbound */
    CHECK (!s_match (NULL, "spec.nodeName=", "Pod", "web"));
    CHECK (s_match (NULL, "spec.nodeName==demo", "Pod", "web"));
    /* describe node / drain: the node's pods that are not done */
    const char *live = "spec.nodeName=demo,status.phase!=Succeeded,status.phase!=Failed";
    CHECK (s_match (NULL, live, "Pod", "web"));
    CHECK (!s_match (NULL, live, "Pod", "api-1"));
    CHECK (!s_match (NULL, live, "Pod", "batch"));
    CHECK (!s_match (NULL, live, "Pod", "pending"));
    CHECK (s_match (NULL, "status.phase=Running", "Pod", "web"));
    CHECK (s_match (NULL, "status.phase=", "Pod", "pending"));
    CHECK (s_match (NULL, "status.podIP=10.0.0.1", "Pod", "web"));
    /* Kubernetes' defaults and booleans */
    CHECK (s_match (NULL, "spec.restartPolicy=Always", "Pod", "web"));
    CHECK (s_match (NULL, "spec.restartPolicy=Never", "Pod", "api-1"));
    CHECK (s_match (NULL, "spec.hostNetwork=false", "Pod", "web"));
    CHECK (s_match (NULL, "spec.hostNetwork=true", "Pod", "api-1"));
    CHECK (s_match (NULL, "spec.schedulerName=default-scheduler", "Pod", "web"));
    CHECK (s_match (NULL, "spec.schedulerName=custom", "Pod", "api-1"));
    CHECK (s_match (NULL, "status.nominatedNodeName=", "Pod", "web"));
    /* empty terms are skipped, as apimachinery does */
    CHECK (s_match (NULL, ",metadata.name=web,", "Pod", "web"));
    CHECK (s_match (NULL, "", "Pod", "web"));
}

static void test_escapes (void)
{
    /* label value "a,b" cannot be selected by label, but a name could hold
     * what the escapes allow: check them through metadata.name on values */
    CHECK (!s_match (NULL, "metadata.name=we\\,b", "Pod", "web"));
    char *e = s_error (HS_KIND_POD, NULL, "metadata.name=a=b");
    CHECK_EQ_STR (e, "invalid field selector: unescaped character in value: 61");
    free (e);
    e = s_error (HS_KIND_POD, NULL, "metadata.name=a\\x");
    CHECK_EQ_STR (e, "invalid field selector: invalid escape sequence: \\x");
    free (e);
    e = s_error (HS_KIND_POD, NULL, "metadata.name=a\\");
    CHECK_EQ_STR (e, "invalid field selector: invalid escape sequence: \\");
    free (e);
    e = s_error (HS_KIND_POD, NULL, "metadata.name");
    CHECK_EQ_STR (e, "invalid selector: 'metadata.name'; can't understand 'metadata.name'");
    free (e);
    e = s_error (HS_KIND_POD, NULL, "status.phase=Running,bogus");
    CHECK_EQ_STR (e, "invalid selector: 'status.phase=Running,bogus'; can't understand 'bogus'");
    free (e);
    /* escaped comma and equals are part of the value, not separators */
    api_selector_t *s = NULL;
    api_status_t st = {0};
    CHECK_EQ_INT (api_selector_parse (HS_KIND_POD, NULL, "metadata.name=x\\,y\\=z\\\\", &s, &st),
                  0);
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", "x,y=z\\");
    CHECK (api_selector_match (s, o));
    hs_pb_set_str (&hs_obj_meta (o)->name, "x");
    CHECK (!api_selector_match (s, o));
    hs_pb_free (o);
    api_selector_free (&s);
    /* "!=" is found before "=": a value may start with '=' only escaped */
    CHECK (s_match (NULL, "metadata.name!=\\=web", "Pod", "web"));
}

static void test_events (void)
{
    /* describe pod */
    CHECK (s_match (NULL,
                    "involvedObject.uid=u-web,involvedObject.name=web,involvedObject.namespace="
                    "default",
                    "Event", "web.1"));
    CHECK (!s_match (NULL, "involvedObject.uid=u-web", "Event", "demo.1"));
    /* kubectl events --for pod/web */
    CHECK (s_match (NULL,
                    "involvedObject.kind=Pod,involvedObject.apiVersion=v1,involvedObject.name=web",
                    "Event", "web.1"));
    /* describe node: namespace "" matches a Node's events whatever they store */
    const char *node_q = "involvedObject.name=demo,involvedObject.namespace=,involvedObject.kind="
                         "Node,involvedObject.uid=u-demo";
    CHECK (s_match (NULL, node_q, "Event", "demo.1"));
    CHECK (s_match (NULL, node_q, "Event", "demo.2"));
    CHECK (!s_match (NULL, node_q, "Event", "web.1"));
    /* its second query names the node as uid: Homeostat's events carry the
     * real uid, so it finds nothing (each event shows once) */
    CHECK (!s_match (NULL,
                     "involvedObject.name=demo,involvedObject.namespace=,involvedObject.kind=Node,"
                     "involvedObject.uid=demo",
                     "Event", "demo.1"));
    /* get events --field-selector type=Warning,reason=BackOff */
    CHECK (s_match (NULL, "type=Warning,reason=BackOff", "Event", "web.1"));
    CHECK (!s_match (NULL, "type=Warning", "Event", "demo.1"));
    CHECK (s_match (NULL, "source=hs-agent", "Event", "web.1"));
    CHECK (s_match (NULL, "source=hs-prober", "Event", "demo.1")); /* reporting component */
    CHECK (s_match (NULL, "reportingComponent=hs-prober", "Event", "demo.1"));
    CHECK (s_match (NULL, "involvedObject.fieldPath=spec.containers{main}", "Event", "web.1"));
    CHECK (s_match (NULL, "involvedObject.resourceVersion=12", "Event", "web.1"));
    CHECK (s_match (NULL, "involvedObject.resourceVersion=", "Event", "demo.1"));
    CHECK (s_match (NULL, "metadata.namespace=default", "Event", "demo.1"));
}

static void test_other_kinds (void)
{
    CHECK (s_match (NULL, "spec.unschedulable=true", "Node", "demo"));
    CHECK (s_match (NULL, "spec.unschedulable=false", "Node", "demo2"));
    CHECK (s_match (NULL, "metadata.name=demo2", "Node", "demo2"));
    CHECK (s_match (NULL, "type=Opaque", "Secret", "s1"));
    CHECK (s_match (NULL, "type=kubernetes.io/tls", "Secret", "s2"));
    CHECK (s_match (NULL, "spec.type=ClusterIP,spec.clusterIP=10.96.0.10", "Service", "svc"));
    CHECK (s_match (NULL, "status.successful=1", "Job", "once"));
    CHECK (!s_match (NULL, "status.successful=0", "Job", "once"));
    /* rollout status watches its Deployment by name */
    CHECK (s_match (NULL, "metadata.name=wd", "Deployment", "wd"));
    CHECK (s_match ("app=wd", "metadata.namespace=default", "Deployment", "wd"));
}

/* The texts the apiserver gives, kind by kind. */
static void test_unsupported (void)
{
    static const struct {
        hs_kind_t kind;
        const char *sel;
        const char *msg;
    } cases[] = {
        {HS_KIND_POD, "spec.bogus=1", "field label not supported: spec.bogus"},
        {HS_KIND_POD, "status.hostIP=1.2.3.4", "field label not supported: status.hostIP"},
        {HS_KIND_POD, "status.phase =Running", "field label not supported: status.phase "},
        {HS_KIND_NODE, "spec.bogus=1", "field label not supported: spec.bogus"},
        {HS_KIND_EVENT, "involvedObject.bogus=x",
         "field label not supported: involvedObject.bogus"},
        {HS_KIND_SECRET, "data=x", "field label not supported: data"},
        {HS_KIND_SERVICE, "spec.ports=x", "field label not supported: spec.ports"},
        {HS_KIND_JOB, "spec.bogus=1", "field label \"spec.bogus\" not supported for batchv1.Job"},
        {HS_KIND_DEPLOYMENT, "spec.replicas=1",
         "\"spec.replicas\" is not a known field selector: only \"metadata.name\", "
         "\"metadata.namespace\""},
        {HS_KIND_REPLICASET, "status.replicas=1",
         "\"status.replicas\" is not a known field selector: only \"metadata.name\", "
         "\"metadata.namespace\""},
        {HS_KIND_CONFIGMAP, "data=1",
         "\"data\" is not a known field selector: only \"metadata.name\", "
         "\"metadata.namespace\""},
        {HS_KIND_ENDPOINTS, "subsets=1",
         "\"subsets\" is not a known field selector: only \"metadata.name\", "
         "\"metadata.namespace\""},
        {HS_KIND_HPA, "spec.maxReplicas=3",
         "\"spec.maxReplicas\" is not a known field selector: only \"metadata.name\", "
         "\"metadata.namespace\""},
        {API_KIND_NAMESPACE, "metadata.namespace=x",
         "field label not supported: metadata.namespace"},
        /* a field of another kind */
        {HS_KIND_EVENT, "spec.nodeName=demo", "field label not supported: spec.nodeName"},
        {HS_KIND_NODE, "status.phase=Running", "field label not supported: status.phase"},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        char *e = s_error (cases[i].kind, NULL, cases[i].sel);
        CHECK_EQ_STR (e, cases[i].msg);
        free (e);
    }
    /* a bad label selector is reported before the fields are looked at */
    char *e = s_error (HS_KIND_POD, "app in (", "spec.bogus=1");
    CHECK_CONTAINS (e, "unable to parse requirement");
    free (e);
}

static void test_namespaces (void)
{
    api_selector_t *s = NULL;
    api_status_t st = {0};
    CHECK_EQ_INT (api_selector_parse (API_KIND_NAMESPACE, NULL, "metadata.name=team-a", &s, &st),
                  0);
    CHECK (api_selector_match_namespace (s, "team-a"));
    CHECK (!api_selector_match_namespace (s, "default"));
    api_selector_free (&s);
    CHECK_EQ_INT (api_selector_parse (API_KIND_NAMESPACE, "kubernetes.io/metadata.name in (a,b)",
                                      "status.phase=Active", &s, &st),
                  0);
    CHECK (api_selector_match_namespace (s, "b"));
    CHECK (!api_selector_match_namespace (s, "c"));
    api_selector_free (&s);
    CHECK_EQ_INT (api_selector_parse (API_KIND_NAMESPACE, "app=x", NULL, &s, &st), 0);
    CHECK (!api_selector_match_namespace (s, "a"));
    api_selector_free (&s);
    CHECK (api_selector_match_namespace (NULL, "a"));
    api_selector_free (&s); /* NULL-safe */
    api_selector_free (NULL);
}

/* Untrusted input never crashes: every byte, long values, many terms. */
static void test_junk (void)
{
    const Hs__Object *web = s_obj ("Pod", "web");
    char buf[8];
    for (int c = 1; c < 256; c++) {
        const char *patterns[] = {"%c", "a%c", "metadata.name=%c", "%c=x", "app in (%c)"};
        for (size_t p = 0; p < HS_ARRAY_LEN (patterns); p++) {
            snprintf (buf, sizeof buf, patterns[p], c);
            for (int which = 0; which < 2; which++) {
                api_selector_t *s = NULL;
                api_status_t st = {0};
                int r = api_selector_parse (HS_KIND_POD, which ? buf : NULL, which ? NULL : buf, &s,
                                            &st);
                if (r == 0)
                    (void)api_selector_match (s, web);
                else
                    api_status_free (&st);
                api_selector_free (&s);
            }
        }
    }
    hs_buf_t b = {0};
    for (int i = 0; i < 5000; i++) hs_buf_puts (&b, i ? ",metadata.name!=x" : "metadata.name!=x");
    _cleanup_free_ char *many = hs_buf_take (&b);
    CHECK (s_match (NULL, many, "Pod", "web"));
}

int main (int argc, char **argv)
{
    s_m = (hs_manifest_t){0};
    char *err = NULL;
    if (hs_manifest_parse (OBJECTS, strlen (OBJECTS), "objects", &s_m, &err) < 0) {
        fprintf (stderr, "objects: %s\n", err);
        return 1;
    }
    static const hs_test_t tests[] = {
        {"labels", test_labels},           {"pod_fields", test_pod_fields},
        {"escapes", test_escapes},         {"events", test_events},
        {"other_kinds", test_other_kinds}, {"unsupported", test_unsupported},
        {"namespaces", test_namespaces},   {"junk", test_junk},
    };
    int r = HS_TEST_RUN (tests);
    hs_manifest_free (&s_m);
    return r;
}
