/*  test_ctl_fmt.c: selftest of hsctl's pure formatting (no bus): alignment,
 *  kubectl's pod/node status rules, selectors, tables and describe text.
 */
#include "ctl_fmt.h"
#include "hs_manifest.h"
#include "hs_pbjson.h"
#include "hs_test.h"

#include <stdlib.h>
#include <string.h>

#define SEC 1000000000LL

static Hs__Object *s_pod (const char *name, const char *phase)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
    Hs__Pod *p = o->pod;
    p->metadata->creation_timestamp = 1000 * SEC;
    p->spec = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "main");
    hs_pb_set_str (&c->image, "busybox");
    hs_pb_push ((void ***)&p->spec->containers, &p->spec->n_containers, c);
    p->status = hs_pb_new (&hs__pod_status__descriptor);
    hs_pb_set_str (&p->status->phase, phase);
    return o;
}

static Hs__ContainerStatus *s_add_status (Hs__Pod *p, bool ready, int restarts)
{
    Hs__ContainerStatus *cs = hs_pb_new (&hs__container_status__descriptor);
    hs_pb_set_str (&cs->name, "main");
    cs->ready = ready;
    cs->restart_count = restarts;
    cs->state = hs_pb_new (&hs__container_state__descriptor);
    hs_pb_push ((void ***)&p->status->container_statuses, &p->status->n_container_statuses, cs);
    return cs;
}

static void test_tabwrite (void)
{
    char *out = ctl_tabwrite ("NAME\tREADY\tAGE\nweb-long-name\t1/1\t5s\n", 6, 3);
    CHECK_EQ_STR (out, "NAME            READY   AGE\nweb-long-name   1/1     5s\n");
    free (out);
    /* a line without the cell ends the block: alignment restarts after it */
    out = ctl_tabwrite ("a:\tx\nlonger:\ty\nSection:\n  k:\tv\n", 0, 2);
    CHECK_EQ_STR (out, "a:       x\nlonger:  y\nSection:\n  k:  v\n");
    free (out);
}

static void test_pod_status (void)
{
    Hs__Object *o = s_pod ("web", "Running");
    int ready, total, restarts;
    int64_t last;
    Hs__ContainerStatus *cs = s_add_status (o->pod, true, 2);
    cs->state->running = hs_pb_new (&hs__container_state_running__descriptor);
    CHECK_EQ_STR (ctl_pod_status (o->pod, &ready, &total, &restarts, &last), "Running");
    CHECK_EQ_INT (ready, 1);
    CHECK_EQ_INT (total, 1);
    CHECK_EQ_INT (restarts, 2);
    CHECK_EQ_INT (last, 0);

    hs_pb_free (cs->state->running);
    cs->state->running = NULL;
    cs->state->waiting = hs_pb_new (&hs__container_state_waiting__descriptor);
    hs_pb_set_str (&cs->state->waiting->reason, "CrashLoopBackOff");
    CHECK_EQ_STR (ctl_pod_status (o->pod, &ready, &total, &restarts, &last), "CrashLoopBackOff");
    CHECK_EQ_INT (ready, 0);

    hs_pb_free (cs->state->waiting);
    cs->state->waiting = NULL;
    cs->state->terminated = hs_pb_new (&hs__container_state_terminated__descriptor);
    cs->state->terminated->exit_code = 3;
    CHECK_EQ_STR (ctl_pod_status (o->pod, NULL, NULL, NULL, NULL), "ExitCode:3");
    hs_pb_set_str (&cs->state->terminated->reason, "OOMKilled");
    CHECK_EQ_STR (ctl_pod_status (o->pod, NULL, NULL, NULL, NULL), "OOMKilled");

    o->pod->metadata->deletion_timestamp = 2000 * SEC;
    CHECK_EQ_STR (ctl_pod_status (o->pod, NULL, NULL, NULL, NULL), "Terminating");
    hs_pb_free (o);

    o = s_pod ("lost", "Failed");
    hs_pb_set_str (&o->pod->status->reason, "NodeLost");
    CHECK_EQ_STR (ctl_pod_status (o->pod, NULL, NULL, NULL, NULL), "NodeLost");
    hs_pb_free (o);
}

static void test_pod_table (void)
{
    Hs__Object *a = s_pod ("web", "Running");
    Hs__ContainerStatus *cs = s_add_status (a->pod, true, 0);
    cs->state->running = hs_pb_new (&hs__container_state_running__descriptor);
    Hs__Object *b = s_pod ("worker-1", "Pending");
    hs_pb_set_str (&b->pod->spec->node_name, "n1");
    const Hs__Object *objs[] = {a, b};
    ctl_list_opts_t lo = {0};
    char *t = ctl_table_render (HS_KIND_POD, objs, 2, &lo, 1005 * SEC);
    CHECK_EQ_STR (t, "NAME       READY   STATUS    RESTARTS   AGE\n"
                     "web        1/1     Running   0          5s\n"
                     "worker-1   0/1     Pending   0          5s\n");
    free (t);
    lo.wide = true;
    lo.all_ns = true;
    t = ctl_table_render (HS_KIND_POD, objs, 2, &lo, 1005 * SEC);
    CHECK_EQ_STR (t, "NAMESPACE   NAME       READY   STATUS    RESTARTS   AGE   IP       NODE\n"
                     "default     web        1/1     Running   0          5s    <none>   <none>\n"
                     "default     worker-1   0/1     Pending   0          5s    <none>   n1\n");
    free (t);
    hs_pb_free (a);
    hs_pb_free (b);
}

static void test_node_status (void)
{
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, NULL, "n1");
    char buf[64];
    CHECK_EQ_STR (ctl_node_status (o->node, buf, sizeof buf), "Unknown");
    o->node->status = hs_pb_new (&hs__node_status__descriptor);
    Hs__NodeCondition *c = hs_pb_new (&hs__node_condition__descriptor);
    hs_pb_set_str (&c->type, "Ready");
    hs_pb_set_str (&c->status, "False");
    hs_pb_push ((void ***)&o->node->status->conditions, &o->node->status->n_conditions, c);
    o->node->spec = hs_pb_new (&hs__node_spec__descriptor);
    o->node->spec->unschedulable = true;
    CHECK_EQ_STR (ctl_node_status (o->node, buf, sizeof buf), "NotReady,SchedulingDisabled");
    /* what hs-prober writes for a silent node: kubectl says NotReady too */
    hs_pb_set_str (&c->status, "Unknown");
    o->node->spec->unschedulable = false;
    CHECK_EQ_STR (ctl_node_status (o->node, buf, sizeof buf), "NotReady");
    char *roles = ctl_node_roles (o->node);
    CHECK_EQ_STR (roles, "<none>");
    free (roles);
    hs_pb_map_set ((void ***)&o->node->metadata->labels, &o->node->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "node-role.kubernetes.io/worker",
                   "");
    hs_pb_map_set ((void ***)&o->node->metadata->labels, &o->node->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor,
                   "node-role.kubernetes.io/control-plane", "");
    roles = ctl_node_roles (o->node);
    CHECK_EQ_STR (roles, "control-plane,worker");
    free (roles);
    hs_pb_free (o);
}

static void test_selector (void)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", "x");
    Hs__ObjectMeta *m = o->pod->metadata;
    hs_pb_map_set ((void ***)&m->labels, &m->n_labels, &hs__object_meta__labels_entry__descriptor,
                   "app", "web");
    hs_pb_map_set ((void ***)&m->labels, &m->n_labels, &hs__object_meta__labels_entry__descriptor,
                   "tier", "front");
    struct {
        const char *sel;
        bool match;
    } cases[] = {
        {"app=web", true},
        {"app==web", true},
        {"app!=web", false},
        {"app", true},
        {"!app", false},
        {"!gpu", true},
        {"app=web,tier=back", false},
        {"tier in (front, back)", true},
        {"tier notin (front)", false},
        {"app=web,tier in (x,front),!gpu", true},
        {"", true},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        char *err = NULL;
        ctl_selector_t *s = ctl_selector_parse (cases[i].sel, &err);
        CHECK (s != NULL);
        if (!s) {
            fprintf (stderr, "  selector %s: %s\n", cases[i].sel, err);
            free (err);
            continue;
        }
        if (ctl_selector_matches (s, (void *const *)m->labels, m->n_labels) != cases[i].match)
            fprintf (stderr, "  FAIL selector \"%s\"\n", cases[i].sel), hs_test_failures++;
        ctl_selector_free (&s);
    }
    const char *bad[] = {"=x", "a=b,", "app=(x", "a in x", "a b", "a=b c", "in ()"};
    for (size_t i = 0; i < HS_ARRAY_LEN (bad); i++) {
        char *err = NULL;
        ctl_selector_t *s = ctl_selector_parse (bad[i], &err);
        if (s)
            fprintf (stderr, "  FAIL selector \"%s\" accepted\n", bad[i]), hs_test_failures++;
        else
            CHECK_CONTAINS (err, "unable to parse requirement");
        ctl_selector_free (&s);
        free (err);
    }
    hs_pb_free (o);
}

static void test_describe (void)
{
    Hs__Object *p = s_pod ("web", "Running");
    hs_pb_map_set ((void ***)&p->pod->metadata->labels, &p->pod->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "app", "web");
    hs_pb_set_str (&p->pod->metadata->uid, "u1");
    Hs__Object *e = hs_obj_new (HS_KIND_EVENT, "default", "web.1");
    e->event->involved_object = hs_pb_new (&hs__object_reference__descriptor);
    hs_pb_set_str (&e->event->involved_object->kind, "Pod");
    hs_pb_set_str (&e->event->involved_object->namespace_, "default");
    hs_pb_set_str (&e->event->involved_object->name, "web");
    hs_pb_set_str (&e->event->type, "Normal");
    hs_pb_set_str (&e->event->reason, "Scheduled");
    hs_pb_set_str (&e->event->message, "Successfully assigned default/web to n1");
    e->event->first_timestamp = e->event->last_timestamp = 1001 * SEC;
    e->event->source = hs_pb_new (&hs__event_source__descriptor);
    hs_pb_set_str (&e->event->source->component, "hs-scheduler");
    const Hs__Object *rel[] = {p, e};
    char *t = ctl_describe_render (p, rel, 2, 1005 * SEC);
    CHECK_CONTAINS (t, "Name:         web\n");
    CHECK_CONTAINS (t, "Labels:       app=web\n");
    CHECK_CONTAINS (t, "Annotations:  <none>\n");
    CHECK_CONTAINS (t, "Containers:\n  main:\n    Image:        busybox\n");
    CHECK_CONTAINS (t, "QoS Class:        BestEffort\n");
    CHECK_CONTAINS (t, "Events:\n  Type    Reason     Age   From          Message\n"
                       "  ----    ------     ----  ----          -------\n"
                       "  Normal  Scheduled  4s    hs-scheduler  Successfully assigned "
                       "default/web to n1\n");
    free (t);
    const Hs__Object *none[] = {p};
    t = ctl_describe_render (p, none, 1, 1005 * SEC);
    CHECK_CONTAINS (t, "Events:           <none>\n");
    free (t);
    hs_pb_free (p);
    hs_pb_free (e);
}

static Hs__Object *s_service (const char *name, const char *ip)
{
    Hs__Object *o = hs_obj_new (HS_KIND_SERVICE, "default", name);
    o->service->metadata->creation_timestamp = 1000 * SEC;
    Hs__ServiceSpec *s = o->service->spec = hs_pb_new (&hs__service_spec__descriptor);
    hs_pb_set_str (&s->type, "ClusterIP");
    hs_pb_set_str (&s->cluster_ip, ip);
    hs_pb_push ((void ***)&s->cluster_ips, &s->n_cluster_ips, hs_strdup (ip));
    hs_pb_set_str (&s->session_affinity, "None");
    hs_pb_set_str (&s->internal_traffic_policy, "Cluster");
    const char *names[] = {"dns", "dns-tcp"}, *protos[] = {"UDP", "TCP"};
    for (int i = 0; i < 2; i++) {
        Hs__ServicePort *p = hs_pb_new (&hs__service_port__descriptor);
        hs_pb_set_str (&p->name, names[i]);
        hs_pb_set_str (&p->protocol, protos[i]);
        p->port = 53;
        hs_pb_set_str (&p->target_port, "10053");
        hs_pb_push ((void ***)&s->ports, &s->n_ports, p);
    }
    hs_pb_map_set ((void ***)&s->selector, &s->n_selector,
                   &hs__service_spec__selector_entry__descriptor, "k8s-app", name);
    return o;
}

/* Endpoints with ready addresses 10.244.1.<first> .. (n of them) and one
 * not ready, ports dns/53/UDP and dns-tcp/53/TCP. */
static Hs__Object *s_endpoints (const char *name, int n)
{
    Hs__Object *o = hs_obj_new (HS_KIND_ENDPOINTS, "default", name);
    o->endpoints->metadata->creation_timestamp = 1000 * SEC;
    Hs__EndpointSubset *ss = hs_pb_new (&hs__endpoint_subset__descriptor);
    for (int i = 0; i <= n; i++) {
        Hs__EndpointAddress *a = hs_pb_new (&hs__endpoint_address__descriptor);
        a->ip = hs_sprintf ("10.244.1.%d", i + 2);
        hs_pb_set_str (&a->node_name, "n1");
        if (i < n)
            hs_pb_push ((void ***)&ss->addresses, &ss->n_addresses, a);
        else
            hs_pb_push ((void ***)&ss->not_ready_addresses, &ss->n_not_ready_addresses, a);
    }
    const char *names[] = {"dns", "dns-tcp"}, *protos[] = {"UDP", "TCP"};
    for (int i = 0; i < 2; i++) {
        Hs__EndpointPort *p = hs_pb_new (&hs__endpoint_port__descriptor);
        hs_pb_set_str (&p->name, names[i]);
        hs_pb_set_str (&p->protocol, protos[i]);
        p->port = 10053;
        hs_pb_push ((void ***)&ss->ports, &ss->n_ports, p);
    }
    hs_pb_push ((void ***)&o->endpoints->subsets, &o->endpoints->n_subsets, ss);
    return o;
}

static void test_service_table (void)
{
    Hs__Object *a = s_service ("kube-dns", "10.96.0.10");
    Hs__Object *b = s_service ("web", "None");
    hs_pb_free (b->service->spec->ports[1]);
    b->service->spec->n_ports = 1;
    b->service->spec->ports[0]->port = 80;
    hs_pb_set_str (&b->service->spec->ports[0]->protocol, "TCP");
    const Hs__Object *objs[] = {a, b};
    ctl_list_opts_t lo = {0};
    char *t = ctl_table_render (HS_KIND_SERVICE, objs, 2, &lo, 1005 * SEC);
    CHECK_EQ_STR (t, "NAME       TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)         AGE\n"
                     "kube-dns   ClusterIP   10.96.0.10   <none>        53/UDP,53/TCP   5s\n"
                     "web        ClusterIP   None         <none>        80/TCP          5s\n");
    free (t);
    lo.wide = true;
    t = ctl_table_render (HS_KIND_SERVICE, objs, 1, &lo, 1005 * SEC);
    CHECK_EQ_STR (t, "NAME       TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)         AGE   "
                     "SELECTOR\n"
                     "kube-dns   ClusterIP   10.96.0.10   <none>        53/UDP,53/TCP   5s    "
                     "k8s-app=kube-dns\n");
    free (t);
    lo = (ctl_list_opts_t){.kind_prefix = true};
    t = ctl_table_render (HS_KIND_SERVICE, objs, 1, &lo, 1005 * SEC);
    CHECK_CONTAINS (t, "\nservice/kube-dns   ClusterIP");
    free (t);

    /* ENDPOINTS: 3 shown, then how many more; <none> without ready ones */
    Hs__Object *e1 = s_endpoints ("kube-dns", 1), *e3 = s_endpoints ("many", 3),
               *e0 = s_endpoints ("idle", 0);
    const Hs__Object *eps[] = {e0, e1, e3};
    lo = (ctl_list_opts_t){0};
    t = ctl_table_render (HS_KIND_ENDPOINTS, eps, 3, &lo, 1005 * SEC);
    CHECK_EQ_STR (
        t, "NAME       ENDPOINTS                                                        AGE\n"
           "idle       <none>                                                           5s\n"
           "kube-dns   10.244.1.2:10053,10.244.1.2:10053                                5s\n"
           "many       10.244.1.2:10053,10.244.1.3:10053,10.244.1.4:10053 + 3 more...   "
           "5s\n");
    free (t);
    char *s = ctl_endpoints_str (e3->endpoints, "dns-tcp");
    CHECK_EQ_STR (s, "10.244.1.2:10053,10.244.1.3:10053,10.244.1.4:10053");
    free (s);
    s = ctl_endpoints_str (NULL, NULL);
    CHECK_EQ_STR (s, "<none>");
    free (s);

    /* describe svc: kubectl's layout, endpoints from the Endpoints object */
    const Hs__Object *rel[] = {a, e1};
    t = ctl_describe_render (a, rel, 2, 1005 * SEC);
    CHECK_EQ_STR (t, "Name:                     kube-dns\n"
                     "Namespace:                default\n"
                     "Labels:                   <none>\n"
                     "Annotations:              <none>\n"
                     "Selector:                 k8s-app=kube-dns\n"
                     "Type:                     ClusterIP\n"
                     "IP Family Policy:         SingleStack\n"
                     "IP Families:              IPv4\n"
                     "IP:                       10.96.0.10\n"
                     "IPs:                      10.96.0.10\n"
                     "Port:                     dns  53/UDP\n"
                     "TargetPort:               10053/UDP\n"
                     "Endpoints:                10.244.1.2:10053\n"
                     "Port:                     dns-tcp  53/TCP\n"
                     "TargetPort:               10053/TCP\n"
                     "Endpoints:                10.244.1.2:10053\n"
                     "Session Affinity:         None\n"
                     "Internal Traffic Policy:  Cluster\n"
                     "Events:                   <none>\n");
    free (t);
    const Hs__Object *alone[] = {a};
    t = ctl_describe_render (a, alone, 1, 1005 * SEC);
    CHECK_CONTAINS (t, "Endpoints:                <none>\n");
    free (t);

    t = ctl_describe_render (e1, rel, 2, 1005 * SEC);
    CHECK_EQ_STR (t, "Name:         kube-dns\n"
                     "Namespace:    default\n"
                     "Labels:       <none>\n"
                     "Annotations:  <none>\n"
                     "Subsets:\n"
                     "  Addresses:          10.244.1.2\n"
                     "  NotReadyAddresses:  10.244.1.3\n"
                     "  Ports:\n"
                     "    Name     Port   Protocol\n"
                     "    ----     ----   --------\n"
                     "    dns      10053  UDP\n"
                     "    dns-tcp  10053  TCP\n"
                     "\n"
                     "Events:  <none>\n");
    free (t);

    /* -o yaml / json give back the same objects */
    const Hs__Object *all[] = {a, b, e3};
    int fmts[] = {HS_FMT_YAML, HS_FMT_JSON};
    for (size_t f = 0; f < HS_ARRAY_LEN (fmts); f++)
        for (size_t i = 0; i < HS_ARRAY_LEN (all); i++) {
            char *text = ctl_render_objects (&all[i], 1, false, fmts[f]);
            hs_manifest_t m = {0};
            char *err = NULL;
            CHECK_EQ_INT (hs_manifest_parse (text, strlen (text), "out", &m, &err), 0);
            if (err) fprintf (stderr, "  %s\n%s\n", err, text);
            CHECK_EQ_INT (m.n, 1);
            if (m.n == 1) CHECK (hs_pb_equal (m.docs[0].object, all[i]));
            hs_manifest_free (&m);
            free (err);
            free (text);
        }
    hs_pb_free (a);
    hs_pb_free (b);
    hs_pb_free (e0);
    hs_pb_free (e1);
    hs_pb_free (e3);
}

static void test_node_describe_cidr (void)
{
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, NULL, "n1");
    o->node->spec = hs_pb_new (&hs__node_spec__descriptor);
    hs_pb_set_str (&o->node->spec->pod_cidr, "10.244.1.0/24");
    hs_pb_push ((void ***)&o->node->spec->pod_cidrs, &o->node->spec->n_pod_cidrs,
                hs_strdup ("10.244.1.0/24"));
    const Hs__Object *rel[] = {o};
    char *t = ctl_describe_render (o, rel, 1, 1005 * SEC);
    CHECK_CONTAINS (t, "PodCIDR:              10.244.1.0/24\n"
                       "PodCIDRs:             10.244.1.0/24\n");
    free (t);
    hs_pb_free (o);
}

static Hs__Object *s_yaml (const char *yaml)
{
    hs_manifest_t m = {0};
    char *error = NULL;
    int r = hs_manifest_parse (yaml, strlen (yaml), "t.yaml", &m, &error);
    if (r < 0) fprintf (stderr, "  %s\n", error);
    free (error);
    CHECK_EQ_INT (r, 0);
    Hs__Object *o = m.n ? m.docs[0].object : NULL;
    if (m.n) m.docs[0].object = NULL;
    hs_manifest_free (&m);
    return o;
}

/* kubectl 1.32's HPA row and describer (printHorizontalPodAutoscaler,
 * describeHorizontalPodAutoscalerV2). */
static void test_hpa (void)
{
    Hs__Object *fresh = s_yaml ("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
                                "metadata: {name: web, namespace: default}\n"
                                "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, "
                                "name: web}\n  minReplicas: 1\n  maxReplicas: 5\n  metrics:\n"
                                "  - type: Resource\n    resource:\n      name: cpu\n"
                                "      target: {type: Utilization, averageUtilization: 50}\n");
    Hs__Object *busy = s_yaml (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
        "metadata: {name: api, namespace: default}\n"
        "spec:\n  scaleTargetRef: {kind: ReplicaSet, name: api-1}\n  maxReplicas: 10\n"
        "  metrics:\n"
        "  - type: Resource\n    resource:\n      name: cpu\n"
        "      target: {type: Utilization, averageUtilization: 50}\n"
        "  - type: ContainerResource\n    containerResource:\n      name: memory\n"
        "      container: app\n      target: {type: AverageValue, averageValue: 100Mi}\n"
        "  - type: Resource\n    resource:\n      name: memory\n"
        "      target: {type: Utilization, averageUtilization: 80}\n"
        "  behavior:\n    scaleDown:\n      stabilizationWindowSeconds: 60\n"
        "      selectPolicy: Min\n"
        "      policies: [{type: Pods, value: 1, periodSeconds: 30}, "
        "{type: Percent, value: 50, periodSeconds: 60}]\n"
        "status:\n  currentReplicas: 3\n  desiredReplicas: 4\n  currentMetrics:\n"
        "  - type: Resource\n    resource:\n      name: cpu\n"
        "      current: {averageUtilization: 73, averageValue: 365m}\n"
        "  - type: ContainerResource\n    containerResource:\n      name: memory\n"
        "      container: app\n      current: {averageValue: 52Mi}\n"
        "  conditions:\n"
        "  - {type: AbleToScale, status: \"True\", reason: ReadyForNewScale, message: "
        "recommended size matches current size}\n"
        "  - {type: ScalingActive, status: \"True\", reason: ValidMetricFound, message: the HPA "
        "was able to successfully calculate a replica count from cpu resource utilization "
        "(percentage of request)}\n");
    CHECK (fresh && busy);
    fresh->horizontal_pod_autoscaler->metadata->creation_timestamp = 1000 * SEC;
    busy->horizontal_pod_autoscaler->metadata->creation_timestamp = 1000 * SEC;
    const Hs__Object *objs[] = {busy, fresh};
    ctl_list_opts_t lo = {0};
    char *t = ctl_table_render (HS_KIND_HPA, objs, 2, &lo, 1005 * SEC);
    CHECK_EQ_STR (
        t, "NAME   REFERENCE          TARGETS                                        MINPODS   "
           "MAXPODS   REPLICAS   AGE\n"
           "api    ReplicaSet/api-1   cpu: 73%/50%, memory: 52Mi/100Mi + 1 more...   <unset>   "
           "10        3          5s\n"
           "web    Deployment/web     cpu: <unknown>/50%                             1         "
           "5         0          5s\n");
    free (t);
    lo.wide = true; /* no wide columns: the same */
    t = ctl_table_render (HS_KIND_HPA, objs + 1, 1, &lo, 1005 * SEC);
    CHECK (hs_startswith (t, "NAME   REFERENCE        TARGETS              MINPODS"));
    free (t);

    /* annotations as kubectl prints them: no last-applied-configuration, a
     * long value on its own lines, cut at 138 bytes */
    Hs__ObjectMeta *fm = fresh->horizontal_pod_autoscaler->metadata;
    hs_pb_map_set ((void ***)&fm->annotations, &fm->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor,
                   "kubectl.kubernetes.io/last-applied-configuration", "{\"apiVersion\":\"x\"}");
    char longv[200];
    memset (longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    hs_pb_map_set ((void ***)&fm->annotations, &fm->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, "note", "two\nlines");
    hs_pb_map_set ((void ***)&fm->annotations, &fm->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, "long", longv);
    hs_pb_map_set ((void ***)&fm->annotations, &fm->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, "a", "b");
    t = ctl_describe_render (fresh, objs, 2, 1005 * SEC);
    /* the block is as wide as its widest first cell, the metric's line */
    _cleanup_free_ char *want = hs_sprintf ("Annotations:%43sa: b\n"
                                            "%55slong:\n"
                                            "%55s  %.138s...\n"
                                            "%55snote:\n"
                                            "%55s  two\n"
                                            "%55s  lines\n",
                                            "", "", "", longv, "", "", "");
    CHECK_CONTAINS (t, want);
    CHECK (!strstr (t, "last-applied"));
    free (t);

    t = ctl_describe_render (busy, objs, 2, 1005 * SEC);
    CHECK_EQ_STR (
        t,
        "Name:                                                     api\n"
        "Namespace:                                                default\n"
        "Labels:                                                   <none>\n"
        "Annotations:                                              <none>\n"
        "CreationTimestamp:                                        Thu, 01 Jan 1970 00:16:40 "
        "+0000\n"
        "Reference:                                                ReplicaSet/api-1\n"
        "Metrics:                                                  ( current / target )\n"
        "  resource cpu on pods  (as a percentage of request):     73% (365m) / 50%\n"
        "  resource memory of container \"app\" on pods:             52Mi / 100Mi\n"
        "  resource memory on pods  (as a percentage of request):  <unknown> / 80%\n"
        "Min replicas:                                             <unset>\n"
        "Max replicas:                                             10\n"
        "Behavior:\n"
        "  Scale Down:\n"
        "    Stabilization Window: 60 seconds\n"
        "    Select Policy: Min\n"
        "    Policies:\n"
        "      - Type: Pods     Value: 1   Period: 30 seconds\n"
        "      - Type: Percent  Value: 50  Period: 60 seconds\n"
        "ReplicaSet pods:       3 current / 4 desired\n"
        "Conditions:\n"
        "  Type           Status  Reason            Message\n"
        "  ----           ------  ------            -------\n"
        "  AbleToScale    True    ReadyForNewScale  recommended size matches current size\n"
        "  ScalingActive  True    ValidMetricFound  the HPA was able to successfully calculate a "
        "replica count from cpu resource utilization (percentage of request)\n"
        "Events:          <none>\n");
    free (t);
    hs_pb_free (fresh);
    hs_pb_free (busy);
}

int main (int argc, char **argv)
{
    setenv ("TZ", "UTC", 1);
    static const hs_test_t tests[] = {
        {"tabwrite", test_tabwrite},
        {"pod_status", test_pod_status},
        {"pod_table", test_pod_table},
        {"node_status", test_node_status},
        {"selector", test_selector},
        {"describe", test_describe},
        {"service_table", test_service_table},
        {"node_describe_cidr", test_node_describe_cidr},
        {"hpa", test_hpa},
    };
    return HS_TEST_RUN (tests);
}
