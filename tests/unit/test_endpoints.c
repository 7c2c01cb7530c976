/*  test_endpoints.c: hs-endpoints' decisions (services/endpoints/endpoints_sync):
 *  which pods are endpoints, ready and not-ready addresses, terminating and
 *  terminal pods, publishNotReadyAddresses, named targetPorts resolving to
 *  different numbers (two subsets), a missing port name, protocols, headless
 *  hostnames, selector-less Services, the order (by IP, whatever the input
 *  order), and the comparison that decides whether anything is written.
 */
#include "endpoints_sync.h"
#include "hs_manifest.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>

/* ------------------------------------------------------------------ fixtures */

static hs_manifest_t s_docs;

static void s_reset (void)
{
    hs_manifest_free (&s_docs);
    memset (&s_docs, 0, sizeof s_docs);
}

/* The object of a YAML document, kept until s_reset. */
static Hs__Object *s_parse (const char *y)
{
    char *err = NULL;
    size_t before = s_docs.n;
    int r = hs_manifest_parse (y, strlen (y), "test", &s_docs, &err);
    if (r < 0) fprintf (stderr, "  manifest: %s\n%s\n", err, y);
    free (err);
    CHECK_EQ_INT (r, 0);
    CHECK (s_docs.n == before + 1);
    if (r < 0 || s_docs.n != before + 1) return NULL;
    return s_docs.docs[before].object;
}

/* Service "web" in default from spec lines (YAML under spec:, 2-space
 * indent); selector app=web unless they name one. */
static const Hs__Service *s_svc (const char *spec_lines)
{
    _cleanup_free_ char *y =
        hs_sprintf ("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\n"
                    "  labels: {tier: front}\n  uid: svc-uid\n"
                    "spec:\n%s%s",
                    strstr (spec_lines, "selector:") ? "" : "  selector: {app: web}\n", spec_lines);
    Hs__Object *o = s_parse (y);
    return o ? o->service : NULL;
}

static const Hs__Service *s_svc_http (void)
{
    return s_svc ("  ports:\n  - {name: http, port: 80, targetPort: http}\n");
}

/* A pod: name, ip ("" none), phase, Ready ("True", "False" or NULL: no
 * condition), extra metadata lines, container ports (flow YAML list items
 * or NULL), extra spec lines. Labels app=web unless the metadata lines
 * give labels. */
static const Hs__Pod *s_pod_full (const char *name, const char *ip, const char *phase,
                                  const char *ready, const char *meta, const char *ports,
                                  const char *spec)
{
    _cleanup_free_ char *y = hs_sprintf (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  uid: uid-%s\n%s"
        "spec:\n  nodeName: n1\n%s  containers:\n  - name: c\n    image: x\n%s%s"
        "status:\n  phase: %s\n%s%s%s%s",
        name, name, meta ? meta : "  namespace: default\n  labels: {app: web}\n", spec ? spec : "",
        ports ? "    ports:\n" : "", ports ? ports : "", phase, *ip ? "  podIP: " : "", ip,
        *ip ? "\n" : "",
        ready ? (hs_streq (ready, "True") ? "  conditions:\n  - {type: Ready, status: \"True\"}\n"
                                          : "  conditions:\n  - {type: Ready, status: \"False\"}\n")
              : "");
    Hs__Object *o = s_parse (y);
    return o ? o->pod : NULL;
}

static const Hs__Pod *s_pod (const char *name, const char *ip, bool ready, int http)
{
    _cleanup_free_ char *ports = hs_sprintf ("    - {name: http, containerPort: %d}\n", http);
    return s_pod_full (name, ip, "Running", ready ? "True" : "False", NULL, ports, NULL);
}

static const Hs__EndpointSubset *s_sub (const endpoints_plan_t *p, size_t i)
{
    CHECK (p->want != NULL);
    if (!p->want || i >= p->want->n_subsets) return NULL;
    return p->want->subsets[i];
}

/* "ip,ip" of a subset's ready (or not-ready) addresses. */
static char *s_ips (const Hs__EndpointSubset *s, bool ready)
{
    hs_buf_t b = {0};
    hs_buf_puts (&b, "");
    size_t n = !s ? 0 : ready ? s->n_addresses : s->n_not_ready_addresses;
    for (size_t i = 0; i < n; i++) {
        const Hs__EndpointAddress *a = ready ? s->addresses[i] : s->not_ready_addresses[i];
        hs_buf_printf (&b, "%s%s", i ? "," : "", a->ip);
    }
    return hs_buf_take (&b);
}

#define CHECK_IPS(sub, ready, want)                                                                \
    do {                                                                                           \
        char *_s = s_ips ((sub), (ready));                                                         \
        CHECK_EQ_STR (_s, (want));                                                                 \
        free (_s);                                                                                 \
    } while (0)

/* ------------------------------------------------------------------ tests */

static void test_ready_and_not_ready (void)
{
    const Hs__Service *svc = s_svc_http ();
    const Hs__Pod *pods[] = {
        s_pod ("a", "10.244.1.10", true, 8080), s_pod ("b", "10.244.1.9", true, 8080),
        s_pod ("c", "10.244.1.2", false, 8080),
        s_pod_full ("d", "10.244.2.1", "Pending", NULL, NULL,
                    "    - {name: http, containerPort: 8080}\n", NULL), /* no Ready condition */
    };
    endpoints_plan_t p;
    CHECK_EQ_INT (endpoints_sync (svc, pods, 4, &p), 0);
    CHECK_EQ_INT (p.want->n_subsets, 1);
    const Hs__EndpointSubset *s = s_sub (&p, 0);
    /* numeric order: .9 before .10 */
    CHECK_IPS (s, true, "10.244.1.9,10.244.1.10");
    CHECK_IPS (s, false, "10.244.1.2,10.244.2.1");
    CHECK_EQ_INT (p.n_ready, 2);
    CHECK_EQ_INT (p.n_not_ready, 2);
    CHECK_EQ_INT (p.n_missing, 0);
    CHECK_EQ_INT (s->n_ports, 1);
    CHECK_EQ_STR (s->ports[0]->name, "http");
    CHECK_EQ_INT (s->ports[0]->port, 8080);
    CHECK_EQ_STR (s->ports[0]->protocol, "TCP");
    /* the address: ip, node, the pod as target; no hostname without a subdomain */
    const Hs__EndpointAddress *a = s->addresses[0];
    CHECK_EQ_STR (a->node_name, "n1");
    CHECK_EQ_STR (a->hostname, "");
    CHECK_EQ_STR (a->target_ref->kind, "Pod");
    CHECK_EQ_STR (a->target_ref->namespace_, "default");
    CHECK_EQ_STR (a->target_ref->name, "b");
    CHECK_EQ_STR (a->target_ref->uid, "uid-b");
    /* the object: the Service's namespace, name and labels, our annotation */
    CHECK_EQ_STR (p.want->metadata->namespace_, "default");
    CHECK_EQ_STR (p.want->metadata->name, "web");
    CHECK_EQ_INT (p.want->metadata->n_labels, 1);
    CHECK_EQ_STR (p.want->metadata->labels[0]->key, "tier");
    CHECK (endpoints_ours (p.want));
    endpoints_plan_clear (&p);
    s_reset ();
}

static void test_terminating_and_terminal (void)
{
    const Hs__Service *svc = s_svc_http ();
    const Hs__Pod *pods[] = {
        s_pod ("live", "10.0.0.1", true, 8080),
        s_pod_full ("going", "10.0.0.2", "Running", "True",
                    "  namespace: default\n  labels: {app: web}\n"
                    "  deletionTimestamp: \"2026-01-01T00:00:00Z\"\n",
                    "    - {name: http, containerPort: 8080}\n", NULL),
        s_pod_full ("done", "10.0.0.3", "Succeeded", "False", NULL,
                    "    - {name: http, containerPort: 8080}\n", NULL),
        s_pod_full ("dead", "10.0.0.4", "Failed", "True", NULL,
                    "    - {name: http, containerPort: 8080}\n", NULL),
        s_pod_full ("noip", "", "Running", "True", NULL,
                    "    - {name: http, containerPort: 8080}\n", NULL),
    };
    CHECK (endpoints_pod_eligible (pods[0]));
    CHECK (endpoints_pod_ready (pods[0]));
    CHECK (endpoints_pod_eligible (pods[1]));
    CHECK (!endpoints_pod_ready (pods[1])); /* Ready=True, but being deleted */
    CHECK (!endpoints_pod_eligible (pods[2]));
    CHECK (!endpoints_pod_eligible (pods[3]));
    CHECK (!endpoints_pod_eligible (pods[4]));
    endpoints_plan_t p;
    CHECK_EQ_INT (endpoints_sync (svc, pods, 5, &p), 0);
    CHECK_EQ_INT (p.want->n_subsets, 1);
    CHECK_IPS (s_sub (&p, 0), true, "10.0.0.1");
    CHECK_IPS (s_sub (&p, 0), false, "10.0.0.2");
    endpoints_plan_clear (&p);

    /* nothing eligible: no subsets at all (kube writes an empty list) */
    CHECK_EQ_INT (endpoints_sync (svc, pods + 2, 3, &p), 0);
    CHECK_EQ_INT (p.want->n_subsets, 0);
    endpoints_plan_clear (&p);
    s_reset ();
}

static void test_selection (void)
{
    const Hs__Service *svc = s_svc ("  selector: {app: web, tier: front}\n"
                                    "  ports:\n  - {name: http, port: 80, targetPort: 8080}\n");
    const char *ports = "    - {name: http, containerPort: 8080}\n";
    const Hs__Pod *pods[] = {
        s_pod_full ("both", "10.0.0.1", "Running", "True",
                    "  namespace: default\n  labels: {app: web, tier: front, extra: x}\n", ports,
                    NULL),
        s_pod_full ("one", "10.0.0.2", "Running", "True",
                    "  namespace: default\n  labels: {app: web}\n", ports, NULL),
        s_pod_full ("wrongvalue", "10.0.0.3", "Running", "True",
                    "  namespace: default\n  labels: {app: web, tier: back}\n", ports, NULL),
        s_pod_full ("otherns", "10.0.0.4", "Running", "True",
                    "  namespace: other\n  labels: {app: web, tier: front}\n", ports, NULL),
        NULL,
    };
    CHECK (endpoints_selects (svc, pods[0]));
    CHECK (!endpoints_selects (svc, pods[1]));
    CHECK (!endpoints_selects (svc, pods[2]));
    CHECK (!endpoints_selects (svc, pods[3]));
    CHECK (!endpoints_selects (svc, NULL));
    endpoints_plan_t p;
    CHECK_EQ_INT (endpoints_sync (svc, pods, 5, &p), 0);
    CHECK_EQ_INT (p.want->n_subsets, 1);
    CHECK_IPS (s_sub (&p, 0), true, "10.0.0.1");
    CHECK_IPS (s_sub (&p, 0), false, "");
    endpoints_plan_clear (&p);
    s_reset ();
}

static void test_publish_not_ready (void)
{
    const Hs__Service *svc = s_svc ("  publishNotReadyAddresses: true\n"
                                    "  ports:\n  - {name: http, port: 80, targetPort: http}\n");
    const Hs__Pod *pods[] = {
        s_pod ("a", "10.0.0.1", true, 8080),
        s_pod ("b", "10.0.0.2", false, 8080),
        s_pod_full ("c", "10.0.0.3", "Running", "True",
                    "  namespace: default\n  labels: {app: web}\n"
                    "  deletionTimestamp: \"2026-01-01T00:00:00Z\"\n",
                    "    - {name: http, containerPort: 8080}\n", NULL),
        /* a missing port name keeps it out even so: it cannot be served */
        s_pod_full ("d", "10.0.0.4", "Running", "True", NULL, NULL, NULL),
    };
    endpoints_plan_t p;
    CHECK_EQ_INT (endpoints_sync (svc, pods, 4, &p), 0);
    CHECK_EQ_INT (p.want->n_subsets, 2);
    /* subsets by port set: the port-less one ("") sorts first */
    CHECK_EQ_INT (s_sub (&p, 0)->n_ports, 0);
    CHECK_IPS (s_sub (&p, 0), false, "10.0.0.4");
    CHECK_IPS (s_sub (&p, 1), true, "10.0.0.1,10.0.0.2,10.0.0.3");
    CHECK_IPS (s_sub (&p, 1), false, "");
    CHECK_EQ_INT (p.n_missing, 1);
    endpoints_plan_clear (&p);
    s_reset ();
}

static void test_named_ports_two_subsets (void)
{
    const Hs__Service *svc = s_svc ("  ports:\n  - {name: http, port: 80, targetPort: http}\n"
                                    "  - {name: admin, port: 9000, targetPort: 9090}\n");
    const Hs__Pod *pods[] = {
        s_pod ("v1a", "10.0.0.3", true, 8080),
        s_pod ("v2a", "10.0.0.1", true, 8081),
        s_pod ("v1b", "10.0.0.2", false, 8080),
        s_pod ("v2b", "10.0.0.4", true, 8081),
    };
    endpoints_plan_t p;
    CHECK_EQ_INT (endpoints_sync (svc, pods, 4, &p), 0);
    CHECK_EQ_INT (p.want->n_subsets, 2);
    const Hs__EndpointSubset *a = s_sub (&p, 0), *b = s_sub (&p, 1);
    if (a && b) {
        /* ports in the Service's order; subsets by port set: 8080 first */
        CHECK_EQ_INT (a->n_ports, 2);
        CHECK_EQ_STR (a->ports[0]->name, "http");
        CHECK_EQ_INT (a->ports[0]->port, 8080);
        CHECK_EQ_STR (a->ports[1]->name, "admin");
        CHECK_EQ_INT (a->ports[1]->port, 9090);
        CHECK_IPS (a, true, "10.0.0.3");
        CHECK_IPS (a, false, "10.0.0.2");
        CHECK_EQ_INT (b->ports[0]->port, 8081);
        CHECK_EQ_INT (b->ports[1]->port, 9090);
        CHECK_IPS (b, true, "10.0.0.1,10.0.0.4");
        CHECK_IPS (b, false, "");
    }
    /* the same pods in any order give the same bytes */
    const Hs__Pod *rev[] = {pods[3], pods[1], pods[0], pods[2]};
    endpoints_plan_t q;
    CHECK_EQ_INT (endpoints_sync (svc, rev, 4, &q), 0);
    CHECK (hs_pb_equal (p.want, q.want));
    CHECK (endpoints_same (p.want, q.want));
    endpoints_plan_clear (&q);
    endpoints_plan_clear (&p);
    s_reset ();
}

static void test_missing_port_name (void)
{
    const Hs__Service *svc = s_svc ("  ports:\n  - {name: web, port: 80, targetPort: http}\n"
                                    "  - {name: metrics, port: 9100, targetPort: 9100}\n"
                                    "  - {name: dns, port: 53, targetPort: dns, protocol: UDP}\n");
    const Hs__Pod *pods[] = {
        /* has every name */
        s_pod_full ("good", "10.0.0.1", "Running", "True", NULL,
                    "    - {name: http, containerPort: 8080}\n"
                    "    - {name: dns, containerPort: 5353, protocol: UDP}\n",
                    NULL),
        /* no port named http */
        s_pod_full ("nohttp", "10.0.0.2", "Running", "True", NULL,
                    "    - {name: dns, containerPort: 5353, protocol: UDP}\n", NULL),
        /* dns, but TCP: the protocol must match too */
        s_pod_full ("tcpdns", "10.0.0.3", "Running", "True", NULL,
                    "    - {name: http, containerPort: 8080}\n"
                    "    - {name: dns, containerPort: 5353}\n",
                    NULL),
    };
    endpoints_plan_t p;
    CHECK_EQ_INT (endpoints_sync (svc, pods, 3, &p), 0);
    CHECK_EQ_INT (p.n_missing, 2);
    if (p.n_missing == 2) {
        /* in input order */
        CHECK_EQ_STR (p.missing[0].pod, "nohttp");
        CHECK_EQ_STR (p.missing[0].pod_uid, "uid-nohttp");
        CHECK_EQ_STR (p.missing[0].port, "web");
        CHECK_EQ_STR (p.missing[0].target, "http");
        CHECK_EQ_STR (p.missing[0].protocol, "TCP");
        CHECK_EQ_STR (p.missing[1].pod, "tcpdns");
        CHECK_EQ_STR (p.missing[1].target, "dns");
        CHECK_EQ_STR (p.missing[1].protocol, "UDP");
    }
    CHECK_EQ_INT (p.n_ready, 1);
    CHECK_EQ_INT (p.n_not_ready, 2);
    /* three port sets, three subsets; the missing ones keep what resolved */
    CHECK_EQ_INT (p.want->n_subsets, 3);
    for (size_t i = 0; i < p.want->n_subsets; i++) {
        const Hs__EndpointSubset *s = p.want->subsets[i];
        char *ips = s_ips (s, s->n_addresses > 0);
        if (hs_streq (ips, "10.0.0.1")) {
            CHECK_EQ_INT (s->n_ports, 3);
            CHECK_EQ_INT (s->n_addresses, 1);
        } else if (hs_streq (ips, "10.0.0.2")) {
            CHECK_EQ_INT (s->n_addresses, 0);
            CHECK_EQ_INT (s->n_ports, 2); /* metrics 9100, dns 5353 */
            CHECK_EQ_INT (s->ports[0]->port, 9100);
            CHECK_EQ_INT (s->ports[1]->port, 5353);
            CHECK_EQ_STR (s->ports[1]->protocol, "UDP");
        } else if (hs_streq (ips, "10.0.0.3")) {
            CHECK_EQ_INT (s->n_addresses, 0);
            CHECK_EQ_INT (s->n_ports, 2); /* web 8080, metrics 9100 */
        } else {
            fprintf (stderr, "  unexpected subset %s\n", ips);
            CHECK (false);
        }
        free (ips);
    }
    endpoints_plan_clear (&p);
    s_reset ();
}

static void test_resolve_port (void)
{
    const Hs__Pod *pod = s_pod ("a", "10.0.0.1", true, 8080);
    Hs__ServicePort sp = HS__SERVICE_PORT__INIT;
    int32_t port = 0;
    sp.port = 80;
    CHECK_EQ_INT (endpoints_resolve_port (&sp, pod, &port), 0); /* empty: the port */
    CHECK_EQ_INT (port, 80);
    sp.target_port = (char *)"8443";
    CHECK_EQ_INT (endpoints_resolve_port (&sp, pod, &port), 0);
    CHECK_EQ_INT (port, 8443);
    sp.target_port = (char *)"http";
    CHECK_EQ_INT (endpoints_resolve_port (&sp, pod, &port), 0);
    CHECK_EQ_INT (port, 8080);
    sp.protocol = (char *)"UDP";
    CHECK_EQ_INT (endpoints_resolve_port (&sp, pod, &port), -ENOENT);
    sp.protocol = (char *)"TCP";
    sp.target_port = (char *)"grpc";
    CHECK_EQ_INT (endpoints_resolve_port (&sp, pod, &port), -ENOENT);
    CHECK_EQ_INT (endpoints_resolve_port (&sp, NULL, &port), -ENOENT);
    const char *bad[] = {"0", "65536", "99999999", "Http", "a_b", "-1", "1234567890123456"};
    for (size_t i = 0; i < HS_ARRAY_LEN (bad); i++) {
        sp.target_port = (char *)bad[i];
        CHECK_EQ_INT (endpoints_resolve_port (&sp, pod, &port), -EINVAL);
    }
    sp.target_port = (char *)"65535";
    CHECK_EQ_INT (endpoints_resolve_port (&sp, pod, &port), 0);
    CHECK_EQ_INT (port, 65535);
    sp.target_port = (char *)protobuf_c_empty_string;
    sp.port = 0;
    CHECK_EQ_INT (endpoints_resolve_port (&sp, pod, &port), -EINVAL);
    CHECK_EQ_INT (endpoints_resolve_port (NULL, pod, &port), -EINVAL);
    s_reset ();
}

static void test_headless_hostname (void)
{
    const Hs__Service *svc = s_svc ("  clusterIP: None\n");
    const Hs__Pod *pods[] = {
        s_pod_full ("db-0", "10.0.0.5", "Running", "True", NULL, NULL,
                    "  hostname: db-0\n  subdomain: web\n"),
        s_pod_full ("db-1", "10.0.0.6", "Running", "True", NULL, NULL,
                    "  hostname: db-1\n  subdomain: other\n"),
        s_pod_full ("db-2", "10.0.0.7", "Running", "True", NULL, NULL, "  subdomain: web\n"),
    };
    endpoints_plan_t p;
    CHECK_EQ_INT (endpoints_sync (svc, pods, 3, &p), 0);
    CHECK_EQ_INT (p.want->n_subsets, 1);
    const Hs__EndpointSubset *s = s_sub (&p, 0);
    if (s && s->n_addresses == 3) {
        CHECK_EQ_INT (s->n_ports, 0); /* a headless Service without ports */
        CHECK_EQ_STR (s->addresses[0]->hostname, "db-0");
        CHECK_EQ_STR (s->addresses[1]->hostname, ""); /* another subdomain */
        CHECK_EQ_STR (s->addresses[2]->hostname, ""); /* no hostname */
    } else {
        CHECK (false);
    }
    /* kube's headless label, beside the Service's own */
    const Hs__ObjectMeta *m = p.want->metadata;
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)m->labels, m->n_labels, ENDPOINTS_HEADLESS_LABEL),
                  "");
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)m->labels, m->n_labels, "tier"), "front");
    endpoints_plan_clear (&p);
    s_reset ();
}

static void test_no_selector (void)
{
    Hs__Object *o = s_parse ("apiVersion: v1\nkind: Service\nmetadata:\n  name: ext\n"
                             "spec:\n  ports:\n  - {port: 80}\n");
    const Hs__Service *svc = o ? o->service : NULL;
    const Hs__Pod *pods[] = {s_pod ("a", "10.0.0.1", true, 8080)};
    CHECK (!endpoints_managed (svc));
    CHECK (!endpoints_managed (NULL));
    CHECK (!endpoints_selects (svc, pods[0])); /* an empty selector selects nothing */
    endpoints_plan_t p;
    CHECK_EQ_INT (endpoints_sync (svc, pods, 1, &p), -EINVAL);
    CHECK (p.want == NULL);
    endpoints_plan_clear (&p);
    CHECK_EQ_INT (endpoints_sync (NULL, pods, 1, &p), -EINVAL);
    s_reset ();
}

static void test_same_and_ours (void)
{
    const Hs__Service *svc = s_svc_http ();
    const Hs__Pod *pods[] = {s_pod ("a", "10.0.0.1", true, 8080),
                             s_pod ("b", "10.0.0.2", true, 8080)};
    endpoints_plan_t p, q;
    CHECK_EQ_INT (endpoints_sync (svc, pods, 2, &p), 0);
    /* what the store keeps: ours plus its metadata and a user's annotation */
    Hs__Endpoints *have = hs_pb_dup (p.want);
    hs_pb_set_str (&have->metadata->uid, "ep-uid");
    have->metadata->resource_version = 42;
    hs_pb_map_set ((void ***)&have->metadata->annotations, &have->metadata->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, "note", "kept");
    CHECK (endpoints_same (have, p.want));
    /* b leaves rotation */
    const Hs__Pod *flipped[] = {pods[0], s_pod ("b", "10.0.0.2", false, 8080)};
    CHECK_EQ_INT (endpoints_sync (svc, flipped, 2, &q), 0);
    CHECK (!endpoints_same (have, q.want));
    CHECK_IPS (s_sub (&q, 0), false, "10.0.0.2");
    endpoints_plan_clear (&q);
    /* another Service (a port without targetPort) */
    CHECK_EQ_INT (endpoints_sync (s_svc ("  ports:\n  - {name: http, port: 80}\n"), pods, 2, &q),
                  0);
    CHECK (!endpoints_same (have, q.want)); /* the port changed: 80, not 8080 */
    endpoints_plan_clear (&q);
    Hs__Endpoints *relabeled = hs_pb_dup (have);
    hs_pb_map_set ((void ***)&relabeled->metadata->labels, &relabeled->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "tier", "back");
    CHECK (!endpoints_same (relabeled, p.want));
    /* without our annotation (a user's object): written over, to mark it ours */
    Hs__Endpoints *theirs = hs_pb_dup (have);
    for (size_t i = 0; i < theirs->metadata->n_annotations; i++)
        if (hs_streq (theirs->metadata->annotations[i]->key, ENDPOINTS_MANAGED_BY))
            hs_pb_set_str (&theirs->metadata->annotations[i]->value, "someone");
    CHECK (!endpoints_ours (theirs));
    CHECK (!endpoints_same (theirs, p.want));
    CHECK (endpoints_ours (have));
    CHECK (!endpoints_ours (NULL));
    CHECK (!endpoints_same (NULL, p.want));
    hs_pb_free (theirs);
    hs_pb_free (relabeled);
    hs_pb_free (have);
    endpoints_plan_clear (&p);
    s_reset ();
}

static void test_deletion (void)
{
    const Hs__Service *svc = s_svc_http ();
    const Hs__Pod *pods[] = {s_pod ("a", "10.0.0.1", true, 8080)};
    endpoints_plan_t p;
    CHECK_EQ_INT (endpoints_sync (svc, pods, 1, &p), 0);
    Hs__Endpoints *ours = hs_pb_dup (p.want);
    /* the Service is gone: ours go */
    CHECK (endpoints_should_delete (NULL, ours));
    /* the Service is there (with or without a selector): they stay */
    CHECK (!endpoints_should_delete (svc, ours));
    Hs__Object *o = s_parse ("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
                             "spec:\n  ports:\n  - {port: 80}\n");
    CHECK (!endpoints_should_delete (o ? o->service : NULL, ours));
    /* already being deleted (a finalizer holds it): not again */
    ours->metadata->deletion_timestamp = 1;
    CHECK (!endpoints_should_delete (NULL, ours));
    /* a user's Endpoints (a selector-less Service's): never */
    Hs__Object *u = s_parse ("apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: ext\n"
                             "subsets:\n- addresses:\n  - {ip: 192.0.2.1}\n"
                             "  ports:\n  - {port: 80}\n");
    CHECK (u != NULL);
    if (u) {
        CHECK (!endpoints_ours (u->endpoints));
        CHECK (!endpoints_should_delete (NULL, u->endpoints));
    }
    CHECK (!endpoints_should_delete (NULL, NULL));
    hs_pb_free (ours);
    endpoints_plan_clear (&p);
    s_reset ();
}

static void test_ip_order (void)
{
    CHECK (endpoints_ip_cmp ("10.0.0.9", "10.0.0.10") < 0);
    CHECK (endpoints_ip_cmp ("9.255.255.255", "10.0.0.0") < 0);
    CHECK (endpoints_ip_cmp ("10.0.0.1", "10.0.0.1") == 0);
    CHECK (endpoints_ip_cmp ("10.0.0.1", "fd00::1") < 0); /* IPv4 first */
    CHECK (endpoints_ip_cmp ("fd00::2", "fd00::10") < 0);
    CHECK (endpoints_ip_cmp ("fd00::1", "garbage") < 0);
    CHECK (endpoints_ip_cmp ("a", "b") < 0);
    CHECK (endpoints_ip_cmp (NULL, "10.0.0.1") > 0);
}

/* Many pods, shuffled: every address once, sorted, and identical output. */
static void test_many_shuffled (void)
{
    const Hs__Service *svc = s_svc_http ();
    enum { N = 300 };
    const Hs__Pod *pods[N];
    for (int i = 0; i < N; i++) {
        char name[16], ip[24];
        snprintf (name, sizeof name, "p%d", i);
        snprintf (ip, sizeof ip, "10.244.%d.%d", i / 200, i % 200 + 1);
        pods[i] = s_pod (name, ip, i % 3 != 0, i % 2 ? 8080 : 8081);
    }
    endpoints_plan_t p, q;
    CHECK_EQ_INT (endpoints_sync (svc, pods, N, &p), 0);
    srand (7);
    for (int i = N - 1; i > 0; i--) {
        int j = rand () % (i + 1);
        const Hs__Pod *t = pods[i];
        pods[i] = pods[j];
        pods[j] = t;
    }
    CHECK_EQ_INT (endpoints_sync (svc, pods, N, &q), 0);
    CHECK (hs_pb_equal (p.want, q.want));
    CHECK_EQ_INT (p.want->n_subsets, 2);
    CHECK_EQ_INT (p.n_ready + p.n_not_ready, N);
    CHECK_EQ_INT (p.n_not_ready, 100);
    for (size_t s = 0; s < p.want->n_subsets; s++) {
        const Hs__EndpointSubset *sub = p.want->subsets[s];
        for (size_t i = 1; i < sub->n_addresses; i++)
            CHECK (endpoints_ip_cmp (sub->addresses[i - 1]->ip, sub->addresses[i]->ip) < 0);
        for (size_t i = 1; i < sub->n_not_ready_addresses; i++)
            CHECK (endpoints_ip_cmp (sub->not_ready_addresses[i - 1]->ip,
                                     sub->not_ready_addresses[i]->ip) < 0);
    }
    endpoints_plan_clear (&p);
    endpoints_plan_clear (&q);
    s_reset ();
}

/* kube's cap: at most 1000 addresses, ready ones first, then the
 * annotation says "truncated". */
static void test_over_capacity (void)
{
    const Hs__Service *svc = s_svc_http ();
    enum { N = 1210 };
    static const Hs__Pod *pods[N];
    for (int i = 0; i < N; i++) {
        char name[16], ip[24];
        snprintf (name, sizeof name, "p%d", i);
        snprintf (ip, sizeof ip, "10.244.%d.%d", i / 200, i % 200 + 1);
        pods[i] = s_pod (name, ip, true, 8080);
    }
    /* 1210 ready: the first 1000 by IP */
    endpoints_plan_t p;
    CHECK_EQ_INT (endpoints_sync (svc, pods, N, &p), 0);
    CHECK_EQ_INT (p.n_dropped, 210);
    CHECK_EQ_INT (p.want->n_subsets, 1);
    const Hs__EndpointSubset *s = s_sub (&p, 0);
    if (s) {
        CHECK_EQ_INT (s->n_addresses, ENDPOINTS_MAX_ADDRESSES);
        CHECK_EQ_STR (s->addresses[0]->ip, "10.244.0.1");
        CHECK_EQ_STR (s->addresses[999]->ip, "10.244.4.200");
    }
    const Hs__ObjectMeta *m = p.want->metadata;
    CHECK_EQ_STR (
        hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, ENDPOINTS_OVER_CAPACITY),
        ENDPOINTS_OVER_CAPACITY_AT);
    /* 600 ready and 405 not: all the ready ones, 400 of the others */
    endpoints_plan_t q;
    const Hs__Pod *mixed[1005];
    for (int i = 0; i < 1005; i++) {
        char name[16], ip[24];
        snprintf (name, sizeof name, "nr%d", i);
        snprintf (ip, sizeof ip, "10.245.%d.%d", i / 200, i % 200 + 1);
        mixed[i] = i < 600 ? pods[i] : s_pod (name, ip, false, 8080);
    }
    CHECK_EQ_INT (endpoints_sync (svc, mixed, 1005, &q), 0);
    CHECK_EQ_INT (q.n_dropped, 5);
    s = s_sub (&q, 0);
    if (s) {
        CHECK_EQ_INT (s->n_addresses, 600);
        CHECK_EQ_INT (s->n_not_ready_addresses, 400);
    }
    CHECK (!endpoints_same (q.want, p.want)); /* different addresses */
    /* under the cap again: the annotation goes, and that is a change */
    endpoints_plan_t r;
    CHECK_EQ_INT (endpoints_sync (svc, pods, 999, &r), 0);
    CHECK_EQ_INT (r.n_dropped, 0);
    m = r.want->metadata;
    CHECK (
        !hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, ENDPOINTS_OVER_CAPACITY));
    Hs__Endpoints *have = hs_pb_dup (r.want);
    hs_pb_map_set ((void ***)&have->metadata->annotations, &have->metadata->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, ENDPOINTS_OVER_CAPACITY,
                   ENDPOINTS_OVER_CAPACITY_AT);
    CHECK (!endpoints_same (have, r.want));
    hs_pb_free (have);
    endpoints_plan_clear (&r);
    endpoints_plan_clear (&q);
    endpoints_plan_clear (&p);
    s_reset ();
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"ready_and_not_ready", test_ready_and_not_ready},
        {"terminating_and_terminal", test_terminating_and_terminal},
        {"selection", test_selection},
        {"publish_not_ready", test_publish_not_ready},
        {"named_ports_two_subsets", test_named_ports_two_subsets},
        {"missing_port_name", test_missing_port_name},
        {"resolve_port", test_resolve_port},
        {"headless_hostname", test_headless_hostname},
        {"no_selector", test_no_selector},
        {"same_and_ours", test_same_and_ours},
        {"deletion", test_deletion},
        {"ip_order", test_ip_order},
        {"many_shuffled", test_many_shuffled},
        {"over_capacity", test_over_capacity},
    };
    int rc = HS_TEST_RUN (tests);
    s_reset ();
    return rc;
}
