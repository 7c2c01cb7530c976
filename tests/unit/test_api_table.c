/*  test_api_table.c: hs-apiserver's Tables (services/apiserver/api_table.c):
 *  the Accept header, column definitions (names, types, format, priority),
 *  cells (the same text hsctl prints, counts as JSON numbers), a cell for
 *  every column of every kind, row objects per includeObject, events in
 *  hsctl's order, and the Namespaces' table.
 */
#include "api.h"
#include "ctl_fmt.h"
#include "hs_manifest.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

#define S   1000000000LL
#define NOW (1800000000LL * S) /* 2027-01-15T08:00:00Z */

/* ------------------------------------------------------------ helpers */

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

static const Hs__Object **s_objs (const hs_manifest_t *m)
{
    const Hs__Object **o = hs_calloc (m->n + 1, sizeof *o);
    for (size_t i = 0; i < m->n; i++) o[i] = m->docs[i].object;
    return o;
}

static char *s_json (const hs_tree_t *t)
{
    return hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
}

static const hs_tree_t *s_at (const hs_tree_t *t, size_t i)
{
    return t && t->type == HS_TREE_SEQ && i < t->n ? t->items[i] : NULL;
}

static const char *s_scalar (const hs_tree_t *t, const char *key)
{
    const hs_tree_t *v = hs_tree_get (t, key);
    return v && v->type == HS_TREE_SCALAR ? v->scalar : NULL;
}

/* now - ago seconds, as RFC 3339 */
static const char *s_ago (int64_t ago_s, char *buf, size_t len)
{
    return hs_fmt_time (NOW - ago_s * S, buf, len);
}

static const char *POD_YAML = "apiVersion: v1\n"
                              "kind: Pod\n"
                              "metadata:\n"
                              "  name: web\n"
                              "  namespace: default\n"
                              "  uid: 0b9e0f52-1111-4222-8333-444455556666\n"
                              "  resourceVersion: 111\n"
                              "  creationTimestamp: \"%s\"\n"
                              "  labels: {app: web, tier: fe}\n"
                              "spec:\n"
                              "  nodeName: demo\n"
                              "  containers: [{name: main, image: busybox}]\n"
                              "status:\n"
                              "  phase: Running\n"
                              "  podIP: 10.0.0.1\n"
                              "  containerStatuses:\n"
                              "  - name: main\n"
                              "    ready: true\n"
                              "    restartCount: 0\n"
                              "    state: {running: {startedAt: \"%s\"}}\n";

static hs_manifest_t s_pod (void)
{
    char t1[64], t2[64];
    _cleanup_free_ char *y =
        hs_sprintf (POD_YAML, s_ago (300, t1, sizeof t1), s_ago (290, t2, sizeof t2));
    return s_load (y);
}

/* ------------------------------------------------------------ Accept */

static void test_wanted (void)
{
    /* kubectl 1.32's get */
    CHECK (api_table_wanted ("application/json;as=Table;v=v1;g=meta.k8s.io,application/"
                             "json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"));
    /* spaces, other order, other case of the type */
    CHECK (api_table_wanted ("application/json, Application/JSON ; g=meta.k8s.io ; as=Table ; "
                             "v=v1"));
    CHECK (api_table_wanted ("application/json;as=\"Table\";v=\"v1\";g=\"meta.k8s.io\""));
    CHECK (api_table_wanted ("*/*;q=0.8, application/json;as=Table;v=v1;g=meta.k8s.io;q=0.9"));
    /* not a Table */
    CHECK (!api_table_wanted (NULL));
    CHECK (!api_table_wanted (""));
    CHECK (!api_table_wanted ("application/json"));
    CHECK (!api_table_wanted ("application/json, */*"));
    CHECK (!api_table_wanted ("application/vnd.kubernetes.protobuf,application/json"));
    CHECK (!api_table_wanted ("application/json;as=Table;v=v1beta1;g=meta.k8s.io"));
    CHECK (!api_table_wanted ("application/json;as=Table;v=v1"));
    CHECK (!api_table_wanted ("application/yaml;as=Table;v=v1;g=meta.k8s.io"));
    CHECK (!api_table_wanted ("application/json;as=table;v=v1;g=meta.k8s.io"));
    CHECK (!api_table_wanted ("application/json;as=Table;v=v1;g=meta.k8s.io;q=0"));
    CHECK (!api_table_wanted (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"));
    /* junk does not crash */
    CHECK (!api_table_wanted (";;;,,,=;=,;as"));
    CHECK (!api_table_wanted ("application/json;as"));
    CHECK (!api_table_wanted ("application/json;=Table"));
}

/* ------------------------------------------------------------ pods */

static void test_pod_columns (void)
{
    hs_manifest_t m = s_pod ();
    const Hs__Object **o = s_objs (&m);
    hs_tree_t *t = api_table (HS_KIND_POD, o, m.n, API_INCLUDE_METADATA, 111, NOW);
    CHECK_EQ_STR (s_scalar (t, "kind"), "Table");
    CHECK_EQ_STR (s_scalar (t, "apiVersion"), "meta.k8s.io/v1");
    const hs_tree_t *md = hs_tree_get (t, "metadata");
    CHECK_EQ_STR (s_scalar (md, "resourceVersion"), "111");
    CHECK (hs_tree_get (md, "resourceVersion")->quoted);
    const hs_tree_t *defs = hs_tree_get (t, "columnDefinitions");
    CHECK_EQ_INT (defs->n, 7);
    static const char *names[] = {"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node"};
    static const char *prio[] = {"0", "0", "0", "0", "0", "1", "1"};
    for (size_t i = 0; i < 7 && i < defs->n; i++) {
        CHECK_EQ_STR (s_scalar (defs->items[i], "name"), names[i]);
        CHECK_EQ_STR (s_scalar (defs->items[i], "type"), "string");
        CHECK_EQ_STR (s_scalar (defs->items[i], "priority"), prio[i]);
        CHECK_EQ_STR (s_scalar (defs->items[i], "format"), i == 0 ? "name" : "");
    }
    _cleanup_free_ char *json = s_json (t);
    CHECK_CONTAINS (json, "{\"name\":\"Name\",\"type\":\"string\",\"format\":\"name\",");
    CHECK_CONTAINS (json, "\"priority\":1}");
    CHECK_CONTAINS (json, "\"rows\":[{\"cells\":[\"web\",\"1/1\",\"Running\",\"0\",\"5m\","
                          "\"10.0.0.1\",\"demo\"],\"object\":{\"kind\":\"PartialObjectMetadata\","
                          "\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{");
    /* the row object: what -A and --show-labels read */
    const hs_tree_t *row = s_at (hs_tree_get (t, "rows"), 0);
    const hs_tree_t *meta = hs_tree_get (hs_tree_get (row, "object"), "metadata");
    CHECK_EQ_STR (s_scalar (meta, "name"), "web");
    CHECK_EQ_STR (s_scalar (meta, "namespace"), "default");
    CHECK_EQ_STR (s_scalar (meta, "uid"), "0b9e0f52-1111-4222-8333-444455556666");
    CHECK_EQ_STR (s_scalar (meta, "resourceVersion"), "111");
    CHECK (hs_tree_get (meta, "resourceVersion")->quoted);
    CHECK_EQ_STR (s_scalar (hs_tree_get (meta, "labels"), "tier"), "fe");
    char ts[64];
    CHECK_EQ_STR (s_scalar (meta, "creationTimestamp"), s_ago (300, ts, sizeof ts));
    hs_tree_free (t);
    free (o);
    hs_manifest_free (&m);
}

static void test_include_object (void)
{
    hs_manifest_t m = s_pod ();
    const Hs__Object **o = s_objs (&m);
    /* --sort-by asks includeObject=Object: the whole Pod */
    hs_tree_t *t = api_table (HS_KIND_POD, o, m.n, API_INCLUDE_OBJECT, 111, NOW);
    const hs_tree_t *obj = hs_tree_get (s_at (hs_tree_get (t, "rows"), 0), "object");
    CHECK_EQ_STR (s_scalar (obj, "kind"), "Pod");
    CHECK_EQ_STR (s_scalar (obj, "apiVersion"), "v1");
    CHECK_EQ_STR (s_scalar (hs_tree_get (obj, "metadata"), "resourceVersion"), "111");
    CHECK (hs_tree_get (hs_tree_get (obj, "metadata"), "resourceVersion")->quoted);
    CHECK_EQ_STR (s_scalar (hs_tree_get (obj, "status"), "podIP"), "10.0.0.1");
    CHECK_EQ_STR (s_scalar (hs_tree_get (obj, "spec"), "nodeName"), "demo");
    hs_tree_free (t);
    /* None: rows without objects */
    t = api_table (HS_KIND_POD, o, m.n, API_INCLUDE_NONE, 111, NOW);
    CHECK (hs_tree_get (s_at (hs_tree_get (t, "rows"), 0), "object") == NULL);
    CHECK_EQ_INT (hs_tree_get (s_at (hs_tree_get (t, "rows"), 0), "cells")->n, 7);
    hs_tree_free (t);
    /* an empty list: columns, no rows */
    t = api_table (HS_KIND_POD, NULL, 0, API_INCLUDE_METADATA, 7, NOW);
    _cleanup_free_ char *json = s_json (t);
    CHECK_CONTAINS (json, "\"metadata\":{\"resourceVersion\":\"7\"}");
    CHECK_CONTAINS (json, "\"rows\":[]");
    hs_tree_free (t);
    free (o);
    hs_manifest_free (&m);
}

/* The cells are what `hsctl get -o wide` prints, cell for cell. */
static void test_same_as_hsctl (void)
{
    char t1[64], t2[64], t3[64];
    _cleanup_free_ char *y = hs_sprintf (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: default, "
        "creationTimestamp: \"%s\"}\n"
        "spec:\n  replicas: 3\n  selector: {matchLabels: {app: api}}\n"
        "  template:\n    metadata: {labels: {app: api}}\n"
        "    spec: {containers: [{name: api, image: \"img:1\"}, {name: side, image: "
        "\"img:2\"}]}\n"
        "status: {replicas: 3, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1}\n"
        "---\n"
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: demo\n  creationTimestamp: \"%s\"\n"
        "  labels: {node-role.kubernetes.io/control-plane: \"\"}\n"
        "spec: {unschedulable: true}\n"
        "status:\n  conditions: [{type: Ready, status: \"True\"}]\n"
        "  addresses: [{type: InternalIP, address: 192.168.1.5}]\n"
        "  nodeInfo: {agentVersion: v0.17, osImage: Debian GNU/Linux 12, kernelVersion: 6.1.0}\n"
        "---\n"
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once, namespace: default, "
        "creationTimestamp: \"%s\"}\n"
        "spec:\n  completions: 2\n  template:\n    spec: {restartPolicy: Never, containers: "
        "[{name: c, image: busybox}]}\n"
        "status: {succeeded: 1}\n",
        s_ago (7200, t1, sizeof t1), s_ago (86400 * 3, t2, sizeof t2), s_ago (65, t3, sizeof t3));
    hs_manifest_t m = s_load (y);
    for (size_t d = 0; d < m.n; d++) {
        const Hs__Object *o = m.docs[d].object;
        hs_kind_t kind = hs_obj_kind (o);
        ctl_list_opts_t opts = {.wide = true, .no_headers = true};
        _cleanup_free_ char *text = ctl_table_text (kind, &o, 1, &opts, NOW);
        hs_tree_t *t = api_table (kind, &o, 1, API_INCLUDE_METADATA, 1, NOW);
        const hs_tree_t *cells = hs_tree_get (s_at (hs_tree_get (t, "rows"), 0), "cells");
        hs_buf_t b = {0};
        for (size_t i = 0; cells && i < cells->n; i++)
            hs_buf_printf (&b, "%s%s", i ? "\t" : "", cells->items[i]->scalar);
        hs_buf_puts (&b, "\n");
        _cleanup_free_ char *ours = hs_buf_take (&b);
        CHECK_EQ_STR (ours, text);
        hs_tree_free (t);
    }
    /* and the JSON types: a Deployment's counts are numbers, READY is "1/3" */
    const Hs__Object *dep = m.docs[0].object;
    hs_tree_t *t = api_table (HS_KIND_DEPLOYMENT, &dep, 1, API_INCLUDE_NONE, 1, NOW);
    _cleanup_free_ char *json = s_json (t);
    CHECK_CONTAINS (json, "\"cells\":[\"api\",\"1/3\",2,1,\"120m\",\"api,side\",\"img:1,img:2\","
                          "\"app=api\"]");
    CHECK_CONTAINS (json, "{\"name\":\"Up-to-date\",\"type\":\"integer\",\"format\":\"\"");
    CHECK_CONTAINS (json, "{\"name\":\"Containers\",\"type\":\"string\",\"format\":\"\"");
    hs_tree_free (t);
    const Hs__Object *node = m.docs[1].object;
    t = api_table (HS_KIND_NODE, &node, 1, API_INCLUDE_NONE, 1, NOW);
    free (json);
    json = s_json (t);
    CHECK_CONTAINS (json, "\"cells\":[\"demo\",\"Ready,SchedulingDisabled\",\"control-plane\","
                          "\"3d\",\"v0.17\",\"192.168.1.5\",\"Debian GNU/Linux 12\",\"6.1.0\"]");
    CHECK_CONTAINS (json, "{\"name\":\"Internal-IP\",\"type\":\"string\",\"format\":\"\"");
    hs_tree_free (t);
    hs_manifest_free (&m);
}

static void test_replicaset_integers (void)
{
    char t1[64];
    _cleanup_free_ char *y = hs_sprintf (
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: api-5d8f, namespace: default, "
        "creationTimestamp: \"%s\"}\n"
        "spec:\n  replicas: 3\n  selector: {matchLabels: {app: api}}\n"
        "  template:\n    metadata: {labels: {app: api}}\n"
        "    spec: {containers: [{name: api, image: img}]}\n"
        "status: {replicas: 2, readyReplicas: 0}\n",
        s_ago (40, t1, sizeof t1));
    hs_manifest_t m = s_load (y);
    const Hs__Object **o = s_objs (&m);
    hs_tree_t *t = api_table (HS_KIND_REPLICASET, o, 1, API_INCLUDE_NONE, 1, NOW);
    _cleanup_free_ char *json = s_json (t);
    CHECK_CONTAINS (json, "\"cells\":[\"api-5d8f\",3,2,0,\"40s\",\"api\",\"img\",\"app=api\"]");
    const hs_tree_t *defs = hs_tree_get (t, "columnDefinitions");
    CHECK_EQ_STR (s_scalar (s_at (defs, 1), "name"), "Desired");
    CHECK_EQ_STR (s_scalar (s_at (defs, 1), "type"), "integer");
    CHECK_EQ_STR (s_scalar (s_at (defs, 3), "name"), "Ready");
    CHECK_EQ_STR (s_scalar (s_at (defs, 3), "type"), "integer");
    CHECK_EQ_STR (s_scalar (s_at (defs, 5), "priority"), "1");
    hs_tree_free (t);
    free (o);
    hs_manifest_free (&m);
}

/* ------------------------------------------------------------ events */

static void test_events (void)
{
    char a[64], b[64], c[64];
    _cleanup_free_ char *y = hs_sprintf (
        "apiVersion: v1\nkind: Event\nmetadata: {name: web.aaa, namespace: default}\n"
        "involvedObject: {kind: Pod, name: web, namespace: default, fieldPath: "
        "\"spec.containers{main}\"}\n"
        "reason: Started\nmessage: Started container main\ntype: Normal\n"
        "source: {component: hs-agent}\nfirstTimestamp: \"%s\"\nlastTimestamp: \"%s\"\ncount: 3\n"
        "---\n"
        "apiVersion: v1\nkind: Event\nmetadata: {name: web.bbb, namespace: default}\n"
        "involvedObject: {kind: Pod, name: web, namespace: default}\n"
        "reason: Scheduled\nmessage: \"Successfully assigned\\tdefault/web\\nto demo\"\ntype: "
        "Normal\n"
        "reportingComponent: default-scheduler\nfirstTimestamp: \"%s\"\nlastTimestamp: \"%s\"\n",
        s_ago (600, a, sizeof a), s_ago (60, b, sizeof b), s_ago (700, c, sizeof c),
        s_ago (700, c, sizeof c));
    hs_manifest_t m = s_load (y);
    const Hs__Object **o = s_objs (&m);
    hs_tree_t *t = api_table (HS_KIND_EVENT, o, m.n, API_INCLUDE_METADATA, 9, NOW);
    const hs_tree_t *defs = hs_tree_get (t, "columnDefinitions");
    static const char *names[] = {"Last Seen", "Type",    "Reason",     "Object", "Subobject",
                                  "Source",    "Message", "First Seen", "Count",  "Name"};
    static const char *prio[] = {"0", "0", "0", "0", "1", "1", "0", "1", "1", "1"};
    CHECK_EQ_INT (defs->n, 10);
    for (size_t i = 0; i < 10 && i < defs->n; i++) {
        CHECK_EQ_STR (s_scalar (defs->items[i], "name"), names[i]);
        CHECK_EQ_STR (s_scalar (defs->items[i], "priority"), prio[i]);
        CHECK_EQ_STR (s_scalar (defs->items[i], "format"), i == 9 ? "name" : "");
        CHECK_EQ_STR (s_scalar (defs->items[i], "type"), i == 8 ? "integer" : "string");
    }
    _cleanup_free_ char *json = s_json (t);
    /* oldest last, as hsctl sorts: the Scheduled one (700s ago) first */
    CHECK_CONTAINS (json, "\"rows\":[{\"cells\":[\"11m\",\"Normal\",\"Scheduled\",\"pod/web\",\"\","
                          "\"default-scheduler\",\"Successfully assigned default/web to "
                          "demo\",\"11m\",1,\"web.bbb\"]");
    CHECK_CONTAINS (json, "{\"cells\":[\"60s\",\"Normal\",\"Started\",\"pod/web\","
                          "\"spec.containers{main}\",\"hs-agent\",\"Started container "
                          "main\",\"10m\",3,\"web.aaa\"]");
    /* row for row what `hsctl get events -o wide` prints (it sorts first) */
    ctl_sort_objects (o, m.n);
    ctl_list_opts_t opts = {.wide = true, .no_headers = true};
    _cleanup_free_ char *text = ctl_table_text (HS_KIND_EVENT, o, m.n, &opts, NOW);
    hs_buf_t buf = {0};
    const hs_tree_t *rows = hs_tree_get (t, "rows");
    for (size_t r = 0; r < rows->n; r++) {
        const hs_tree_t *cells = hs_tree_get (rows->items[r], "cells");
        for (size_t i = 0; i < cells->n; i++)
            hs_buf_printf (&buf, "%s%s", i ? "\t" : "", cells->items[i]->scalar);
        hs_buf_puts (&buf, "\n");
    }
    _cleanup_free_ char *ours = hs_buf_take (&buf);
    CHECK_EQ_STR (ours, text);
    hs_tree_free (t);
    free (o);
    hs_manifest_free (&m);
}

/* ------------------------------------------------------------ every kind */

/* Frees an object's metadata and leaves it without. */
static void s_drop_meta (Hs__Object *o)
{
    Hs__ObjectMeta **m = NULL;
    switch (o->kind_case) {
    case HS__OBJECT__KIND_NODE: m = &o->node->metadata; break;
    case HS__OBJECT__KIND_POD: m = &o->pod->metadata; break;
    case HS__OBJECT__KIND_REPLICA_SET: m = &o->replica_set->metadata; break;
    case HS__OBJECT__KIND_DEPLOYMENT: m = &o->deployment->metadata; break;
    case HS__OBJECT__KIND_JOB: m = &o->job->metadata; break;
    case HS__OBJECT__KIND_EVENT: m = &o->event->metadata; break;
    case HS__OBJECT__KIND_SERVICE: m = &o->service->metadata; break;
    case HS__OBJECT__KIND_ENDPOINTS: m = &o->endpoints->metadata; break;
    case HS__OBJECT__KIND_CONFIG_MAP: m = &o->config_map->metadata; break;
    case HS__OBJECT__KIND_SECRET: m = &o->secret->metadata; break;
    default: return;
    }
    hs_pb_free (*m);
    *m = NULL;
}

static void test_every_kind_every_cell (void)
{
    for (hs_kind_t k = HS_KIND_NODE; k < HS_KIND__COUNT; k++) {
        const hs_kind_info_t *info = hs_kind_info (k);
        /* a bare object (no spec, no status) and one without metadata */
        Hs__Object *bare = hs_obj_new (k, info->namespaced ? "default" : NULL, "x");
        Hs__Object *nometa = hs_obj_new (k, NULL, "y");
        s_drop_meta (nometa);
        const Hs__Object *objs[] = {bare, nometa};
        for (int inc = 0; inc < 3; inc++) {
            hs_tree_t *t = api_table (k, objs, 2, (api_include_t)inc, 1, NOW);
            size_t ncol = hs_tree_get (t, "columnDefinitions")->n;
            const char *h[CTL_MAX_COLS];
            CHECK_EQ_INT (ncol, ctl_columns (k, true, h));
            const hs_tree_t *rows = hs_tree_get (t, "rows");
            CHECK_EQ_INT (rows->n, 2);
            for (size_t r = 0; r < rows->n; r++) {
                CHECK_EQ_INT (hs_tree_get (rows->items[r], "cells")->n, ncol);
                for (size_t c = 0; c < ncol; c++)
                    CHECK (hs_tree_get (rows->items[r], "cells")->items[c]->type == HS_TREE_SCALAR);
            }
            /* exactly one Name column */
            size_t names = 0;
            const hs_tree_t *defs = hs_tree_get (t, "columnDefinitions");
            for (size_t c = 0; c < ncol; c++)
                names += !strcmp (s_scalar (defs->items[c], "format"), "name");
            CHECK_EQ_INT (names, 1);
            _cleanup_free_ char *json = s_json (t);
            CHECK (json && json[0] == '{');
            hs_tree_free (t);
        }
        hs_pb_free (bare);
        hs_pb_free (nometa);
    }
}

/* ------------------------------------------------------------ namespaces */

static void test_namespaces (void)
{
    const char *names[] = {"default", "kube-system", "team-a"};
    int64_t created[] = {NOW - 86400 * S * 2, NOW - 86400 * S * 2, NOW - 30 * S};
    hs_tree_t *t = api_table_namespaces (names, created, 3, 42, NOW);
    _cleanup_free_ char *json = s_json (t);
    CHECK_CONTAINS (json, "\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\","
                          "\"metadata\":{\"resourceVersion\":\"42\"}");
    const hs_tree_t *defs = hs_tree_get (t, "columnDefinitions");
    CHECK_EQ_INT (defs->n, 3);
    CHECK_EQ_STR (s_scalar (s_at (defs, 0), "name"), "Name");
    CHECK_EQ_STR (s_scalar (s_at (defs, 0), "format"), "name");
    CHECK_EQ_STR (s_scalar (s_at (defs, 1), "name"), "Status");
    CHECK_EQ_STR (s_scalar (s_at (defs, 2), "name"), "Age");
    CHECK_CONTAINS (json, "{\"cells\":[\"default\",\"Active\",\"2d\"],\"object\":{");
    CHECK_CONTAINS (json, "{\"cells\":[\"team-a\",\"Active\",\"30s\"],\"object\":{");
    const hs_tree_t *obj = hs_tree_get (s_at (hs_tree_get (t, "rows"), 2), "object");
    CHECK_EQ_STR (s_scalar (obj, "kind"), "Namespace");
    CHECK_EQ_STR (s_scalar (hs_tree_get (obj, "metadata"), "name"), "team-a");
    CHECK_EQ_STR (s_scalar (hs_tree_get (hs_tree_get (obj, "metadata"), "labels"),
                            "kubernetes.io/metadata.name"),
                  "team-a");
    hs_tree_free (t);
    t = api_table_namespaces (NULL, NULL, 0, 1, NOW);
    CHECK_EQ_INT (hs_tree_get (t, "rows")->n, 0);
    hs_tree_free (t);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"wanted", test_wanted},
        {"pod_columns", test_pod_columns},
        {"include_object", test_include_object},
        {"same_as_hsctl", test_same_as_hsctl},
        {"replicaset_integers", test_replicaset_integers},
        {"events", test_events},
        {"every_kind_every_cell", test_every_kind_every_cell},
        {"namespaces", test_namespaces},
    };
    return HS_TEST_RUN (tests);
}
