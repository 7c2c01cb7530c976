/*  test_validate.c: hs-store's defaults and validation messages
 *  (bus/hs_validate), without LMDB or sockets.
 */
#include "hs_test.h"
#include "hs_manifest.h"
#include "hs_util.h"
#include "hs_validate.h"
#include "hs_workload.h"

#include <errno.h>
#include <stdlib.h>

/* ------------------------------------------------------------------ builders */

static Hs__Container *s_container (const char *name, const char *cmd)
{
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, name);
    if (cmd) {
        char *arg = hs_strdup (cmd);
        hs_pb_push ((void ***)&c->command, &c->n_command, arg);
    }
    return c;
}

static Hs__Object *s_pod (const char *name)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "", name);
    o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_push ((void ***)&o->pod->spec->containers, &o->pod->spec->n_containers,
                s_container ("app", "sleep"));
    return o;
}

static void s_label (Hs__ObjectMeta *m, const char *k, const char *v)
{
    hs_pb_map_set ((void ***)&m->labels, &m->n_labels, &hs__object_meta__labels_entry__descriptor,
                   k, v);
}

static Hs__PodTemplateSpec *s_template (const char *app, const char *restart)
{
    Hs__PodTemplateSpec *t = hs_pb_new (&hs__pod_template_spec__descriptor);
    t->metadata = hs_pb_new (&hs__object_meta__descriptor);
    if (app) s_label (t->metadata, "app", app);
    t->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_push ((void ***)&t->spec->containers, &t->spec->n_containers,
                s_container ("app", "sleep"));
    if (restart) hs_pb_set_str (&t->spec->restart_policy, restart);
    return t;
}

static Hs__LabelSelector *s_selector (const char *app)
{
    Hs__LabelSelector *s = hs_pb_new (&hs__label_selector__descriptor);
    hs_pb_map_set ((void ***)&s->match_labels, &s->n_match_labels,
                   &hs__label_selector__match_labels_entry__descriptor, "app", app);
    return s;
}

static Hs__Int32Value *s_i32 (int32_t v)
{
    Hs__Int32Value *p = hs_pb_new (&hs__int32_value__descriptor);
    p->value = v;
    return p;
}

static Hs__Object *s_rs (const char *name, int replicas, const char *sel, const char *tmpl)
{
    Hs__Object *o = hs_obj_new (HS_KIND_REPLICASET, "", name);
    o->replica_set->spec = hs_pb_new (&hs__replica_set_spec__descriptor);
    o->replica_set->spec->replicas = s_i32 (replicas);
    if (sel) o->replica_set->spec->selector = s_selector (sel);
    o->replica_set->spec->template_ = s_template (tmpl, NULL);
    return o;
}

/* Defaults, normalizes and validates: the message, or NULL when valid. */
static char *s_check (Hs__Object *o)
{
    hs_obj_defaults (o, 1000);
    hs_obj_normalize (o);
    char *msg = NULL;
    int r = hs_obj_validate (o, &msg);
    hs_pb_free (o);
    if (r == 0) return NULL;
    CHECK_EQ_INT (r, -EINVAL);
    return msg;
}

#define EXPECT_MSG(obj, text)                                                                      \
    do {                                                                                           \
        char *_m = s_check (obj);                                                                  \
        CHECK_EQ_STR (_m, text);                                                                   \
        free (_m);                                                                                 \
    } while (0)

#define EXPECT_HAS(obj, text)                                                                      \
    do {                                                                                           \
        char *_m = s_check (obj);                                                                  \
        CHECK_CONTAINS (_m, text);                                                                 \
        free (_m);                                                                                 \
    } while (0)

#define EXPECT_OK(obj)                                                                             \
    do {                                                                                           \
        char *_m = s_check (obj);                                                                  \
        if (_m) fprintf (stderr, "  unexpected: %s\n", _m);                                        \
        CHECK (_m == NULL);                                                                        \
        free (_m);                                                                                 \
    } while (0)

/* ------------------------------------------------------------------ tests */

static void test_valid_objects (void)
{
    EXPECT_OK (s_pod ("web"));
    EXPECT_OK (s_rs ("rs", 3, "web", "web"));
    Hs__Object *n = hs_obj_new (HS_KIND_NODE, "", "n1");
    n->node->status = hs_pb_new (&hs__node_status__descriptor);
    n->node->status->capacity = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&n->node->status->capacity->cpu, "4");
    hs_pb_set_str (&n->node->status->capacity->memory, "8Gi");
    hs_pb_set_str (&n->node->status->capacity->pods, "110");
    EXPECT_OK (n);

    /* a taint without a key is named by its index */
    n = hs_obj_new (HS_KIND_NODE, "", "n2");
    n->node->spec = hs_pb_new (&hs__node_spec__descriptor);
    for (int i = 0; i < 2; i++) {
        Hs__Taint *t = hs_pb_new (&hs__taint__descriptor);
        hs_pb_set_str (&t->key, i == 0 ? "dedicated" : NULL);
        hs_pb_set_str (&t->effect, "NoSchedule");
        hs_pb_push ((void ***)&n->node->spec->taints, &n->node->spec->n_taints, t);
    }
    EXPECT_HAS (n, "spec.taints[1].key: Required value");
}

static void test_pod_messages (void)
{
    Hs__Object *o = s_pod ("web");
    hs_pb_set_str (&o->pod->spec->containers[0]->name, NULL);
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.containers[0].name: Required value");

    o = s_pod ("web");
    hs_pb_free (o->pod->spec->containers[0]);
    o->pod->spec->n_containers = 0;
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.containers: Required value");

    o = s_pod ("web");
    hs_pb_push ((void ***)&o->pod->spec->containers, &o->pod->spec->n_containers,
                s_container ("app", "true"));
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.containers[1].name: Duplicate value: \"app\"");

    /* a two-digit index in the path */
    o = s_pod ("web");
    for (int i = 1; i <= 10; i++) {
        char name[16];
        snprintf (name, sizeof name, "c%d", i);
        hs_pb_push ((void ***)&o->pod->spec->containers, &o->pod->spec->n_containers,
                    s_container (name, "true"));
    }
    hs_pb_set_str (&o->pod->spec->containers[10]->name, NULL);
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.containers[10].name: Required value");

    o = s_pod ("web");
    hs_pb_set_str (&o->pod->spec->containers[0]->name, "App_1");
    EXPECT_HAS (o, "spec.containers[0].name: Invalid value: \"App_1\": a lowercase RFC 1123 label");

    /* We run processes, not images. */
    o = s_pod ("web");
    hs_pb_push ((void ***)&o->pod->spec->containers, &o->pod->spec->n_containers,
                s_container ("side", NULL));
    hs_pb_set_str (&o->pod->spec->containers[1]->image, "nginx");
    EXPECT_HAS (o, "Pod \"web\" is invalid: spec.containers[1].command: Required value: "
                   "homeostat runs processes, not images");

    o = s_pod ("web");
    hs_pb_set_str (&o->pod->spec->restart_policy, "Sometimes");
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.restartPolicy: Unsupported value: \"Sometimes\": "
                   "supported values: \"Always\", \"OnFailure\", \"Never\"");

    o = s_pod ("web");
    Hs__ResourceRequirements *r = hs_pb_new (&hs__resource_requirements__descriptor);
    r->requests = hs_pb_new (&hs__resource_list__descriptor);
    r->limits = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&r->requests->cpu, "2");
    hs_pb_set_str (&r->limits->cpu, "1");
    hs_pb_set_str (&r->requests->memory, "12x");
    o->pod->spec->containers[0]->resources = r;
    EXPECT_MSG (o, "Pod \"web\" is invalid: [spec.containers[0].resources.requests.memory: Invalid "
                   "value: \"12x\": must be a valid quantity (e.g. \"500m\", \"2\", \"64Mi\", "
                   "\"1G\"), spec.containers[0].resources.requests: Invalid value: \"2\": must be "
                   "less than or equal to cpu limit of 1]");

    o = s_pod ("web");
    Hs__ContainerPort *p = hs_pb_new (&hs__container_port__descriptor);
    p->container_port = 70000;
    hs_pb_push ((void ***)&o->pod->spec->containers[0]->ports,
                &o->pod->spec->containers[0]->n_ports, p);
    p = hs_pb_new (&hs__container_port__descriptor);
    p->container_port = 80;
    hs_pb_set_str (&p->protocol, "XTP");
    hs_pb_push ((void ***)&o->pod->spec->containers[0]->ports,
                &o->pod->spec->containers[0]->n_ports, p);
    EXPECT_MSG (o, "Pod \"web\" is invalid: [spec.containers[0].ports[0].containerPort: Invalid "
                   "value: 70000: must be between 1 and 65535, inclusive, "
                   "spec.containers[0].ports[1].protocol: Unsupported value: \"XTP\": supported "
                   "values: \"SCTP\", \"TCP\", \"UDP\"]");

    o = s_pod ("web");
    Hs__Probe *probe = hs_pb_new (&hs__probe__descriptor);
    probe->exec = hs_pb_new (&hs__exec_action__descriptor);
    hs_pb_push ((void ***)&probe->exec->command, &probe->exec->n_command, hs_strdup ("true"));
    probe->tcp_socket = hs_pb_new (&hs__tcpsocket_action__descriptor);
    hs_pb_set_str (&probe->tcp_socket->port, "8080");
    o->pod->spec->containers[0]->liveness_probe = probe;
    o->pod->spec->containers[0]->readiness_probe = hs_pb_new (&hs__probe__descriptor);
    EXPECT_MSG (o, "Pod \"web\" is invalid: [spec.containers[0].livenessProbe: Forbidden: may not "
                   "specify more than 1 handler type, spec.containers[0].readinessProbe: Required "
                   "value: must specify a handler type]");
}

static void test_meta_messages (void)
{
    EXPECT_HAS (s_pod ("Web_1"), "Pod \"Web_1\" is invalid: metadata.name: Invalid value: "
                                 "\"Web_1\": a lowercase RFC 1123 subdomain must consist of");
    EXPECT_MSG (s_pod (""), "Pod \"\" is invalid: metadata.name: Required value: name or "
                            "generateName is required");
    Hs__Object *o = s_pod ("web");
    hs_pb_set_str (&hs_obj_meta (o)->namespace_, "Bad.NS");
    EXPECT_HAS (o, "metadata.namespace: Invalid value: \"Bad.NS\": a lowercase RFC 1123 label");
    o = s_pod ("web");
    s_label (hs_obj_meta (o), "bad key!", "x");
    EXPECT_HAS (o, "metadata.labels: Invalid value: \"bad key!\": name part must consist of");
    o = s_pod ("web");
    s_label (hs_obj_meta (o), "example.com/app", "not valid!");
    EXPECT_HAS (o, "metadata.labels: Invalid value: \"not valid!\": a valid label must be an empty "
                   "string or consist of");
    o = s_pod ("web");
    s_label (hs_obj_meta (o), "example.com/app", "");
    s_label (hs_obj_meta (o), "tier", "front_end.v1");
    EXPECT_OK (o);
}

static void test_workload_messages (void)
{
    EXPECT_MSG (s_rs ("x", -1, "web", "web"),
                "ReplicaSet \"x\" is invalid: spec.replicas: Invalid value: -1: must be greater "
                "than or equal to 0");
    EXPECT_MSG (s_rs ("x", 1, "web", "other"),
                "ReplicaSet \"x\" is invalid: spec.template.metadata.labels: Invalid value: "
                "map[string]string{\"app\":\"other\"}: `selector` does not match template "
                "`labels`");
    EXPECT_MSG (s_rs ("x", 1, NULL, "web"),
                "ReplicaSet \"x\" is invalid: spec.selector: Required value");

    /* A Job's template must say OnFailure or Never; the defaulted Always is refused. */
    Hs__Object *j = hs_obj_new (HS_KIND_JOB, "", "pi");
    j->job->spec = hs_pb_new (&hs__job_spec__descriptor);
    j->job->spec->template_ = s_template (NULL, NULL);
    hs_pb_set_str (&hs_obj_meta (j)->uid, "1234-uid");
    EXPECT_MSG (j, "Job \"pi\" is invalid: spec.template.spec.restartPolicy: Unsupported value: "
                   "\"Always\": supported values: \"OnFailure\", \"Never\"");
    j = hs_obj_new (HS_KIND_JOB, "", "pi");
    j->job->spec = hs_pb_new (&hs__job_spec__descriptor);
    j->job->spec->template_ = s_template (NULL, "Never");
    j->job->spec->backoff_limit = s_i32 (-2);
    hs_pb_set_str (&hs_obj_meta (j)->uid, "1234-uid");
    EXPECT_MSG (j, "Job \"pi\" is invalid: spec.backoffLimit: Invalid value: -2: must be greater "
                   "than or equal to 0");

    Hs__Object *d = hs_obj_new (HS_KIND_DEPLOYMENT, "", "web");
    d->deployment->spec = hs_pb_new (&hs__deployment_spec__descriptor);
    d->deployment->spec->selector = s_selector ("web");
    d->deployment->spec->template_ = s_template ("web", NULL);
    d->deployment->spec->strategy = hs_pb_new (&hs__deployment_strategy__descriptor);
    hs_pb_set_str (&d->deployment->spec->strategy->type, "BlueGreen");
    EXPECT_MSG (d, "Deployment \"web\" is invalid: spec.strategy.type: Unsupported value: "
                   "\"BlueGreen\": supported values: \"Recreate\", \"RollingUpdate\"");

    Hs__Object *n = hs_obj_new (HS_KIND_NODE, "", "n1");
    n->node->status = hs_pb_new (&hs__node_status__descriptor);
    n->node->status->capacity = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&n->node->status->capacity->memory, "lots");
    EXPECT_MSG (n, "Node \"n1\" is invalid: status.capacity.memory: Invalid value: \"lots\": must "
                   "be a valid quantity (e.g. \"500m\", \"2\", \"64Mi\", \"1G\")");
}

static void test_defaults (void)
{
    Hs__Object *o = s_pod ("web");
    Hs__Probe *probe = hs_pb_new (&hs__probe__descriptor);
    probe->exec = hs_pb_new (&hs__exec_action__descriptor);
    o->pod->spec->containers[0]->readiness_probe = probe;
    Hs__ContainerPort *p = hs_pb_new (&hs__container_port__descriptor);
    p->container_port = 80;
    hs_pb_push ((void ***)&o->pod->spec->containers[0]->ports,
                &o->pod->spec->containers[0]->n_ports, p);
    Hs__ResourceRequirements *r = hs_pb_new (&hs__resource_requirements__descriptor);
    r->limits = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&r->limits->memory, "64Mi");
    o->pod->spec->containers[0]->resources = r;
    hs_obj_defaults (o, 1);
    CHECK_EQ_STR (hs_obj_meta (o)->namespace_, "default");
    CHECK_EQ_STR (o->pod->spec->restart_policy, "Always");
    CHECK (o->pod->spec->termination_grace_period_seconds &&
           o->pod->spec->termination_grace_period_seconds->value == 30);
    CHECK_EQ_STR (p->protocol, "TCP");
    CHECK_EQ_INT (probe->timeout_seconds, 1);
    CHECK_EQ_INT (probe->period_seconds, 10);
    CHECK_EQ_INT (probe->success_threshold, 1);
    CHECK_EQ_INT (probe->failure_threshold, 3);
    CHECK_EQ_STR (r->requests->memory, "64Mi"); /* requests default to limits */
    hs_resources_t u;
    hs_pod_requests (o->pod, &u);
    CHECK_EQ_INT (u.mem_bytes, 64 << 20);
    CHECK_EQ_INT (u.pods, 1);
    hs_pb_free (o);

    Hs__Object *d = hs_obj_new (HS_KIND_DEPLOYMENT, "", "web");
    hs_obj_defaults (d, 1);
    Hs__DeploymentSpec *ds = d->deployment->spec;
    CHECK (ds->replicas && ds->replicas->value == 1);
    CHECK_EQ_STR (ds->strategy->type, "RollingUpdate");
    CHECK_EQ_STR (ds->strategy->rolling_update->max_surge, "25%");
    CHECK_EQ_STR (ds->strategy->rolling_update->max_unavailable, "25%");
    CHECK (ds->revision_history_limit && ds->revision_history_limit->value == 10);
    CHECK (ds->progress_deadline_seconds && ds->progress_deadline_seconds->value == 600);
    CHECK_EQ_STR (ds->template_->spec->restart_policy, "Always");
    hs_pb_free (d);

    Hs__Object *rs = hs_obj_new (HS_KIND_REPLICASET, "", "rs");
    hs_obj_defaults (rs, 1);
    CHECK (rs->replica_set->spec->replicas && rs->replica_set->spec->replicas->value == 1);
    hs_pb_free (rs);

    Hs__Object *j = hs_obj_new (HS_KIND_JOB, "", "pi");
    hs_pb_set_str (&hs_obj_meta (j)->uid, "u-1");
    hs_obj_defaults (j, 1);
    Hs__JobSpec *js = j->job->spec;
    CHECK (js->parallelism && js->parallelism->value == 1);
    CHECK (js->completions && js->completions->value == 1);
    CHECK (js->backoff_limit && js->backoff_limit->value == 6);
    CHECK_EQ_STR (js->completion_mode, "NonIndexed");
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)js->selector->match_labels,
                                 js->selector->n_match_labels, "controller-uid"),
                  "u-1");
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)js->selector->match_labels,
                                 js->selector->n_match_labels, "job-name"),
                  "pi");
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)js->template_->metadata->labels,
                                 js->template_->metadata->n_labels, "controller-uid"),
                  "u-1");
    hs_pb_free (j);

    Hs__Object *e = hs_obj_new (HS_KIND_EVENT, "", "web.1");
    hs_obj_defaults (e, 777);
    CHECK_EQ_INT (e->event->count, 1);
    CHECK_EQ_INT (e->event->first_timestamp, 777);
    CHECK_EQ_INT (e->event->last_timestamp, 777);
    hs_pb_free (e);

    /* Cluster-scoped kinds have no namespace. */
    Hs__Object *n = hs_obj_new (HS_KIND_NODE, "", "n1");
    hs_pb_set_str (&hs_obj_meta (n)->namespace_, "default");
    hs_obj_defaults (n, 1);
    CHECK_EQ_STR (hs_obj_meta (n)->namespace_, "");
    hs_pb_free (n);
}

static void test_normalize (void)
{
    Hs__Object *a = s_pod ("web"), *b = s_pod ("web");
    s_label (hs_obj_meta (a), "b", "2");
    s_label (hs_obj_meta (a), "a", "1");
    s_label (hs_obj_meta (b), "a", "1");
    s_label (hs_obj_meta (b), "b", "2");
    CHECK (!hs_pb_equal (a, b));
    hs_obj_normalize (a);
    hs_obj_normalize (b);
    CHECK (hs_pb_equal (a, b));
    hs_pb_free (a);
    hs_pb_free (b);
}

static void test_selector (void)
{
    Hs__Object *o = s_pod ("web");
    Hs__ObjectMeta *m = hs_obj_meta (o);
    s_label (m, "app", "web");
    s_label (m, "tier", "front");
    Hs__LabelSelector *sel = s_selector ("web");
    CHECK (hs_selector_matches_meta (sel, m));
    Hs__LabelSelectorRequirement *req = hs_pb_new (&hs__label_selector_requirement__descriptor);
    hs_pb_set_str (&req->key, "tier");
    hs_pb_set_str (&req->operator_, "NotIn");
    hs_pb_push ((void ***)&req->values, &req->n_values, hs_strdup ("front"));
    hs_pb_push ((void ***)&sel->match_expressions, &sel->n_match_expressions, req);
    CHECK (!hs_selector_matches_meta (sel, m));
    hs_pb_set_str (&req->operator_, "In");
    CHECK (hs_selector_matches_meta (sel, m));
    hs_pb_free (sel);
    hs_pb_free (o);
}

/* A value quoted in a message is cut with "..." inside its buffer, whatever
 * escapes it holds (fuzz_store: 60 bytes 0x01 as a namespace wrote two
 * bytes past the quoting buffer: a \xNN escape left 3 bytes for "...", the
 * quote and the NUL). */
static void test_quote_escapes (void)
{
    for (size_t n = 30; n <= 63; n++) {
        Hs__Object *o = hs_obj_new (HS_KIND_POD, NULL, "web");
        char *ns = malloc (n + 1);
        memset (ns, 0x01, n);
        ns[n] = '\0';
        hs_pb_take_str (&o->pod->metadata->namespace_, ns);
        char *msg = NULL;
        CHECK_EQ_INT (hs_obj_validate (o, &msg), -EINVAL);
        CHECK_CONTAINS (msg, "metadata.namespace: Invalid value: \"\\x01");
        if (n > 38) CHECK_CONTAINS (msg, "...\""); /* 38 escapes fill the buffer */
        free (msg);
        hs_pb_free (o);
    }
}

static Hs__Object *s_service (const char *name, int n_ports)
{
    Hs__Object *o = hs_obj_new (HS_KIND_SERVICE, "", name);
    o->service->spec = hs_pb_new (&hs__service_spec__descriptor);
    for (int i = 0; i < n_ports; i++) {
        Hs__ServicePort *p = hs_pb_new (&hs__service_port__descriptor);
        p->port = 80 + i;
        if (n_ports > 1) p->name = hs_sprintf ("p%d", i);
        hs_pb_push ((void ***)&o->service->spec->ports, &o->service->spec->n_ports, p);
    }
    hs_pb_map_set ((void ***)&o->service->spec->selector, &o->service->spec->n_selector,
                   &hs__service_spec__selector_entry__descriptor, "app", name);
    return o;
}

static void test_service_defaults (void)
{
    Hs__Object *o = s_service ("web", 2);
    hs_pb_set_str (&o->service->spec->ports[1]->target_port, "http");
    hs_pb_set_str (&o->service->spec->session_affinity, "ClientIP");
    hs_obj_defaults (o, 1);
    const Hs__ServiceSpec *s = o->service->spec;
    CHECK_EQ_STR (s->type, "ClusterIP");
    CHECK_EQ_STR (s->internal_traffic_policy, "Cluster");
    CHECK_EQ_STR (s->ports[0]->protocol, "TCP");
    CHECK_EQ_STR (s->ports[0]->target_port, "80");
    CHECK_EQ_STR (s->ports[1]->target_port, "http");
    CHECK (s->session_affinity_config && s->session_affinity_config->client_ip &&
           s->session_affinity_config->client_ip->timeout_seconds &&
           s->session_affinity_config->client_ip->timeout_seconds->value == 10800);
    CHECK_EQ_INT (s->n_cluster_ips, 0);
    char *m = NULL;
    CHECK_EQ_INT (hs_obj_validate (o, &m), 0);
    free (m);
    hs_pb_free (o);

    /* clusterIP and clusterIPs fill each other in; no selector is fine */
    o = s_service ("web", 1);
    hs_pb_push ((void ***)&o->service->spec->cluster_ips, &o->service->spec->n_cluster_ips,
                hs_strdup ("10.96.0.5"));
    hs_pb_free (o->service->spec->selector[0]);
    free (o->service->spec->selector);
    o->service->spec->selector = NULL;
    o->service->spec->n_selector = 0;
    hs_obj_defaults (o, 1);
    CHECK_EQ_STR (o->service->spec->cluster_ip, "10.96.0.5");
    CHECK_EQ_STR (o->service->spec->session_affinity, "None");
    hs_pb_free (o);
    o = s_service ("hl", 0);
    hs_pb_set_str (&o->service->spec->cluster_ip, "None");
    hs_obj_defaults (o, 1);
    CHECK_EQ_INT (o->service->spec->n_cluster_ips, 1);
    hs_pb_free (o);
    o = s_service ("hl", 0);
    hs_pb_set_str (&o->service->spec->cluster_ip, "None");
    EXPECT_OK (o); /* headless needs no port */

    /* pods: dnsPolicy, and hostPort under hostNetwork */
    o = s_pod ("web");
    Hs__ContainerPort *cp = hs_pb_new (&hs__container_port__descriptor);
    cp->container_port = 8080;
    hs_pb_push ((void ***)&o->pod->spec->containers[0]->ports,
                &o->pod->spec->containers[0]->n_ports, cp);
    o->pod->spec->host_network = true;
    hs_obj_defaults (o, 1);
    CHECK_EQ_STR (o->pod->spec->dns_policy, "ClusterFirst");
    CHECK_EQ_INT (o->pod->spec->containers[0]->ports[0]->host_port, 8080);
    hs_pb_free (o);
}

static void test_service_messages (void)
{
    Hs__Object *o = s_service ("web", 1);
    o->service->spec->ports[0]->port = 70000;
    EXPECT_MSG (o, "Service \"web\" is invalid: spec.ports[0].port: Invalid value: 70000: must be "
                   "between 1 and 65535, inclusive");
    o = s_service ("web", 1);
    o->service->spec->ports[0]->port = 0;
    EXPECT_MSG (o, "Service \"web\" is invalid: spec.ports[0].port: Invalid value: 0: must be "
                   "between 1 and 65535, inclusive");
    o = s_service ("web", 0);
    EXPECT_MSG (o, "Service \"web\" is invalid: spec.ports: Required value");
    o = s_service ("web", 2);
    hs_pb_set_str (&o->service->spec->ports[1]->name, NULL);
    EXPECT_MSG (o, "Service \"web\" is invalid: spec.ports[1].name: Required value");
    o = s_service ("web", 2);
    hs_pb_set_str (&o->service->spec->ports[1]->name, "p0");
    EXPECT_MSG (o, "Service \"web\" is invalid: spec.ports[1].name: Duplicate value: \"p0\"");
    o = s_service ("web", 2);
    hs_pb_set_str (&o->service->spec->ports[1]->name, "Http");
    EXPECT_HAS (o, "spec.ports[1].name: Invalid value: \"Http\": a lowercase RFC 1123 label");
    o = s_service ("web", 2);
    o->service->spec->ports[1]->port = 80;
    EXPECT_MSG (o, "Service \"web\" is invalid: spec.ports[1]: Duplicate value: \"80/TCP\"");
    o = s_service ("web", 2);
    o->service->spec->ports[1]->port = 80;
    hs_pb_set_str (&o->service->spec->ports[1]->protocol, "UDP");
    EXPECT_OK (o); /* 80/TCP and 80/UDP: two ports */
    o = s_service ("web", 1);
    hs_pb_set_str (&o->service->spec->ports[0]->protocol, "SCTP");
    EXPECT_MSG (o, "Service \"web\" is invalid: spec.ports[0].protocol: Unsupported value: "
                   "\"SCTP\": supported values: \"TCP\", \"UDP\"");
    struct {
        const char *tp, *msg;
    } tps[] = {
        {"0", "Invalid value: 0: must be between 1 and 65535, inclusive"},
        {"65536", "Invalid value: 65536: must be between 1 and 65535, inclusive"},
        {"http-metrics-long", "must be no more than 15 characters"},
        {"Http", "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"},
        {"12-34", "must contain at least one letter (a-z)"},
        {"a--b", "must not contain consecutive hyphens"},
        {"-http", "must not begin or end with a hyphen"},
        /* numbers are 1-5 digits and nothing else (hs_port_parse): what
         * hs-endpoints reads; strtoll's " 80" and "+80" are not */
        {"+80", "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"},
        {" 80", "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"},
        {"000080", "Invalid value: 000080: must be between 1 and 65535, inclusive"},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (tps); i++) {
        o = s_service ("web", 1);
        hs_pb_set_str (&o->service->spec->ports[0]->target_port, tps[i].tp);
        EXPECT_HAS (o, tps[i].msg);
        o = s_service ("web", 1);
        hs_pb_set_str (&o->service->spec->ports[0]->target_port, tps[i].tp);
        EXPECT_HAS (o, "spec.ports[0].targetPort: Invalid value: ");
    }
    o = s_service ("web", 1);
    hs_pb_set_str (&o->service->spec->ports[0]->target_port, "http-2");
    EXPECT_OK (o);
    /* a Service's name is a DNS-1035 label: one label of its DNS name */
    o = s_service ("a.b", 1);
    EXPECT_MSG (o, "Service \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": a "
                   "DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                   "start with an alphabetic character, and end with an alphanumeric character "
                   "(e.g. 'my-name',  or 'abc-123', regex used for validation is "
                   "'[a-z]([-a-z0-9]*[a-z0-9])?')");
    o = s_service ("1web", 1);
    EXPECT_HAS (o, "metadata.name: Invalid value: \"1web\": a DNS-1035 label");
    char longname[101];
    memset (longname, 'a', 100);
    longname[100] = '\0';
    o = s_service (longname, 1);
    EXPECT_HAS (o, "must be no more than 63 characters");
    o = s_service ("web-2", 1);
    EXPECT_OK (o);
    o = s_service ("web", 1);
    hs_pb_set_str (&o->service->spec->type, "NodePort");
    EXPECT_MSG (o, "Service \"web\" is invalid: spec.type: Unsupported value: \"NodePort\": "
                   "supported values: \"ClusterIP\"");
    o = s_service ("web", 1);
    hs_pb_set_str (&o->service->spec->cluster_ip, "10.96.0.300");
    EXPECT_MSG (o, "Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value: "
                   "\"10.96.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or "
                   "2001:db8::ffff)");
    o = s_service ("web", 1);
    hs_pb_set_str (&o->service->spec->session_affinity, "Sticky");
    EXPECT_MSG (o, "Service \"web\" is invalid: spec.sessionAffinity: Unsupported value: "
                   "\"Sticky\": supported values: \"ClientIP\", \"None\"");
    o = s_service ("web", 1);
    hs_pb_map_set ((void ***)&o->service->spec->selector, &o->service->spec->n_selector,
                   &hs__service_spec__selector_entry__descriptor, "bad key!", "x");
    EXPECT_HAS (o, "spec.selector: Invalid value: \"bad key!\"");
    o = s_service ("web", 1);
    o->service->spec->ports[0]->node_port = 30080;
    EXPECT_HAS (o, "spec.ports[0].nodePort: Forbidden: may not be used when `type` is "
                   "'ClusterIP'");
    /* several problems: a list */
    o = s_service ("web", 2);
    o->service->spec->ports[0]->port = 0;
    hs_pb_set_str (&o->service->spec->ports[1]->protocol, "ICMP");
    EXPECT_MSG (o, "Service \"web\" is invalid: [spec.ports[0].port: Invalid value: 0: must be "
                   "between 1 and 65535, inclusive, spec.ports[1].protocol: Unsupported value: "
                   "\"ICMP\": supported values: \"TCP\", \"UDP\"]");
}

static Hs__Object *s_endpoints (const char *name, const char *ip, int port)
{
    Hs__Object *o = hs_obj_new (HS_KIND_ENDPOINTS, "", name);
    Hs__EndpointSubset *ss = hs_pb_new (&hs__endpoint_subset__descriptor);
    Hs__EndpointAddress *a = hs_pb_new (&hs__endpoint_address__descriptor);
    hs_pb_set_str (&a->ip, ip);
    hs_pb_push ((void ***)&ss->addresses, &ss->n_addresses, a);
    Hs__EndpointPort *p = hs_pb_new (&hs__endpoint_port__descriptor);
    p->port = port;
    hs_pb_push ((void ***)&ss->ports, &ss->n_ports, p);
    hs_pb_push ((void ***)&o->endpoints->subsets, &o->endpoints->n_subsets, ss);
    return o;
}

static void test_endpoints_messages (void)
{
    EXPECT_OK (s_endpoints ("web", "10.244.1.2", 8080));
    EXPECT_MSG (s_endpoints ("web", "10.244.1", 8080),
                "Endpoints \"web\" is invalid: subsets[0].addresses[0].ip: Invalid value: "
                "\"10.244.1\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
    EXPECT_MSG (s_endpoints ("web", "10.244.1.2", 0),
                "Endpoints \"web\" is invalid: subsets[0].ports[0].port: Invalid value: 0: must "
                "be between 1 and 65535, inclusive");
    /* special addresses (Kubernetes' ValidateNonSpecialIP); loopback stays */
    const char *special[] = {"0.0.0.0", "169.254.169.254", "224.0.0.1", "255.255.255.255",
                             "240.0.0.1"};
    for (size_t i = 0; i < HS_ARRAY_LEN (special); i++)
        EXPECT_HAS (s_endpoints ("web", special[i], 80),
                    "may not be unspecified, link-local, multicast or reserved");
    EXPECT_OK (s_endpoints ("web", "127.0.0.1", 10053));
    Hs__Object *o = s_endpoints ("web", "10.244.1.2", 80);
    hs_pb_set_str (&o->endpoints->subsets[0]->ports[0]->protocol, "SCTP");
    EXPECT_HAS (o, "subsets[0].ports[0].protocol: Unsupported value: \"SCTP\"");
    o = s_endpoints ("web", "10.244.1.2", 80);
    hs_pb_free (o->endpoints->subsets[0]->addresses[0]);
    o->endpoints->subsets[0]->n_addresses = 0;
    EXPECT_MSG (o, "Endpoints \"web\" is invalid: subsets[0]: Required value: must specify "
                   "`addresses` or `notReadyAddresses`");
    o = s_endpoints ("web", "10.244.1.2", 80);
    hs_obj_defaults (o, 1);
    CHECK_EQ_STR (o->endpoints->subsets[0]->ports[0]->protocol, "TCP");
    hs_pb_free (o);
}

static void test_pod_network_messages (void)
{
    Hs__Object *o = s_pod ("web");
    hs_pb_set_str (&o->pod->spec->dns_policy, "Cluster");
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.dnsPolicy: Unsupported value: \"Cluster\": "
                   "supported values: \"ClusterFirst\", \"ClusterFirstWithHostNet\", \"Default\", "
                   "\"None\"");
    const char *ok[] = {"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"};
    for (size_t i = 0; i < HS_ARRAY_LEN (ok); i++) {
        o = s_pod ("web");
        hs_pb_set_str (&o->pod->spec->dns_policy, ok[i]);
        EXPECT_OK (o);
    }
    o = s_pod ("web");
    o->pod->spec->host_network = true;
    Hs__ContainerPort *cp = hs_pb_new (&hs__container_port__descriptor);
    cp->container_port = 8080;
    cp->host_port = 9090;
    hs_pb_push ((void ***)&o->pod->spec->containers[0]->ports,
                &o->pod->spec->containers[0]->n_ports, cp);
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.containers[0].ports[0].hostPort: Invalid value: "
                   "9090: must match `containerPort` when `hostNetwork` is true");
    /* node podCIDR */
    o = hs_obj_new (HS_KIND_NODE, "", "n1");
    o->node->spec = hs_pb_new (&hs__node_spec__descriptor);
    hs_pb_set_str (&o->node->spec->pod_cidr, "10.244.1.1/24");
    EXPECT_MSG (o, "Node \"n1\" is invalid: spec.podCIDR: Invalid value: \"10.244.1.1/24\": must "
                   "be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
    o = hs_obj_new (HS_KIND_NODE, "", "n1");
    o->node->spec = hs_pb_new (&hs__node_spec__descriptor);
    hs_pb_set_str (&o->node->spec->pod_cidr, "10.244.1.0/24");
    hs_pb_push ((void ***)&o->node->spec->pod_cidrs, &o->node->spec->n_pod_cidrs,
                hs_strdup ("10.244.2.0/24"));
    EXPECT_MSG (o, "Node \"n1\" is invalid: spec.podCIDRs[0]: Invalid value: \"10.244.2.0/24\": "
                   "must match `podCIDR`");
    /* an old pod without dnsPolicy may be applied again */
    Hs__Object *a = s_pod ("web"), *b = s_pod ("web");
    hs_obj_defaults (a, 1);
    hs_pb_set_str (&a->pod->spec->dns_policy, NULL);
    hs_obj_defaults (b, 1);
    char *m = NULL;
    CHECK_EQ_INT (hs_pod_validate_update (a->pod, b->pod, &m), 0);
    free (m);
    hs_pb_free (a);
    hs_pb_free (b);
    /* an old hostNetwork pod without hostPort (defaulted since) too, with
     * a new image */
    a = s_pod ("web");
    b = s_pod ("web");
    for (int k = 0; k < 2; k++) {
        Hs__Object *x = k ? b : a;
        x->pod->spec->host_network = true;
        Hs__ContainerPort *cp = hs_pb_new (&hs__container_port__descriptor);
        cp->container_port = 8080;
        hs_pb_push ((void ***)&x->pod->spec->containers[0]->ports,
                    &x->pod->spec->containers[0]->n_ports, cp);
    }
    hs_obj_defaults (a, 1);
    a->pod->spec->containers[0]->ports[0]->host_port = 0; /* as stored before */
    hs_obj_defaults (b, 1);
    hs_pb_set_str (&b->pod->spec->containers[0]->image, "web:2");
    CHECK_EQ_INT (b->pod->spec->containers[0]->ports[0]->host_port, 8080);
    m = NULL;
    CHECK_EQ_INT (hs_pod_validate_update (a->pod, b->pod, &m), 0);
    free (m);
    hs_pb_free (a);
    hs_pb_free (b);
}

/* env valueFrom/envFrom, volumes and volumeMounts (issue 16), in kube's words. */
static Hs__Volume *s_volume (Hs__Object *o, const char *name)
{
    Hs__Volume *v = hs_pb_new (&hs__volume__descriptor);
    hs_pb_set_str (&v->name, name);
    hs_pb_push ((void ***)&o->pod->spec->volumes, &o->pod->spec->n_volumes, v);
    return v;
}

static Hs__VolumeMount *s_mount (Hs__Object *o, const char *name, const char *path)
{
    Hs__VolumeMount *m = hs_pb_new (&hs__volume_mount__descriptor);
    hs_pb_set_str (&m->name, name);
    hs_pb_set_str (&m->mount_path, path);
    Hs__Container *c = o->pod->spec->containers[0];
    hs_pb_push ((void ***)&c->volume_mounts, &c->n_volume_mounts, m);
    return m;
}

static void test_config_messages (void)
{
    /* A valid pod using all of it. */
    Hs__Object *o = s_pod ("web");
    Hs__Volume *v = s_volume (o, "cfg");
    v->config_map = hs_pb_new (&hs__config_map_volume_source__descriptor);
    hs_pb_set_str (&v->config_map->name, "app");
    v = s_volume (o, "tmp");
    v->empty_dir = hs_pb_new (&hs__empty_dir_volume_source__descriptor);
    hs_pb_set_str (&v->empty_dir->medium, "Memory");
    hs_pb_set_str (&v->empty_dir->size_limit, "64Mi");
    s_mount (o, "cfg", "/etc/app");
    Hs__VolumeMount *m = s_mount (o, "tmp", "/scratch");
    hs_pb_set_str (&m->sub_path, "a/b");
    Hs__EnvVar *e = hs_pb_new (&hs__env_var__descriptor);
    hs_pb_set_str (&e->name, "POD");
    e->value_from = hs_pb_new (&hs__env_var_source__descriptor);
    e->value_from->field_ref = hs_pb_new (&hs__object_field_selector__descriptor);
    hs_pb_set_str (&e->value_from->field_ref->field_path, "metadata.name");
    Hs__Container *c = o->pod->spec->containers[0];
    hs_pb_push ((void ***)&c->env, &c->n_env, e);
    EXPECT_OK (o);

    o = s_pod ("web");
    s_volume (o, "none");
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.volumes[0]: Required value: must specify a "
                   "volume type");
    o = s_pod ("web");
    v = s_volume (o, "two");
    v->empty_dir = hs_pb_new (&hs__empty_dir_volume_source__descriptor);
    v->host_path = hs_pb_new (&hs__host_path_volume_source__descriptor);
    hs_pb_set_str (&v->host_path->path, "/tmp");
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.volumes[0]: Forbidden: may not specify more "
                   "than 1 volume type");
    o = s_pod ("web");
    v = s_volume (o, "s");
    v->secret = hs_pb_new (&hs__secret_volume_source__descriptor);
    hs_pb_set_str (&v->secret->secret_name, "x");
    Hs__KeyToPath *it = hs_pb_new (&hs__key_to_path__descriptor);
    hs_pb_set_str (&it->key, "k");
    hs_pb_set_str (&it->path, "../etc/passwd");
    hs_pb_push ((void ***)&v->secret->items, &v->secret->n_items, it);
    v->secret->default_mode = s_i32 (01000);
    EXPECT_HAS (o, "spec.volumes[0].secret.defaultMode: Invalid value: 512: must be a number "
                   "between 0 and 0777 (octal), both inclusive");
    o = s_pod ("web");
    v = s_volume (o, "s");
    v->secret = hs_pb_new (&hs__secret_volume_source__descriptor);
    hs_pb_set_str (&v->secret->secret_name, "x");
    it = hs_pb_new (&hs__key_to_path__descriptor);
    hs_pb_set_str (&it->key, "k");
    hs_pb_set_str (&it->path, "../etc/passwd");
    hs_pb_push ((void ***)&v->secret->items, &v->secret->n_items, it);
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.volumes[0].secret.items[0].path: Invalid value: "
                   "\"../etc/passwd\": must be a relative path without '..' and may not start "
                   "with '..'");
    o = s_pod ("web");
    s_mount (o, "missing", "rel");
    EXPECT_HAS (o, "spec.containers[0].volumeMounts[0].name: Not found: \"missing\"");
    o = s_pod ("web");
    v = s_volume (o, "d");
    v->empty_dir = hs_pb_new (&hs__empty_dir_volume_source__descriptor);
    hs_pb_set_str (&v->empty_dir->medium, "Disk");
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.volumes[0].emptyDir.medium: Unsupported value: "
                   "\"Disk\": supported values: \"\", \"Memory\"");
    o = s_pod ("web");
    v = s_volume (o, "d");
    v->empty_dir = hs_pb_new (&hs__empty_dir_volume_source__descriptor);
    m = s_mount (o, "d", "/x");
    hs_pb_set_str (&m->sub_path, "../../etc");
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.containers[0].volumeMounts[0].subPath: Invalid "
                   "value: \"../../etc\": must be a relative path without '..'");

    o = s_pod ("web");
    v = s_volume (o, "d");
    v->empty_dir = hs_pb_new (&hs__empty_dir_volume_source__descriptor);
    s_mount (o, "d", "/etc/../root");
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.containers[0].volumeMounts[0].mountPath: Invalid "
                   "value: \"/etc/../root\": must be an absolute path without ':' or '..'");

    /* env */
    o = s_pod ("web");
    c = o->pod->spec->containers[0];
    e = hs_pb_new (&hs__env_var__descriptor);
    hs_pb_set_str (&e->name, "1X");
    hs_pb_push ((void ***)&c->env, &c->n_env, e);
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.containers[0].env[0].name: Invalid value: "
                   "\"1X\": a valid environment variable name must consist of alphabetic "
                   "characters, digits, '_', '-', or '.', and must not start with a digit");
    o = s_pod ("web");
    c = o->pod->spec->containers[0];
    e = hs_pb_new (&hs__env_var__descriptor);
    hs_pb_set_str (&e->name, "X");
    e->value_from = hs_pb_new (&hs__env_var_source__descriptor);
    e->value_from->config_map_key_ref = hs_pb_new (&hs__config_map_key_selector__descriptor);
    hs_pb_set_str (&e->value_from->config_map_key_ref->name, "cm");
    hs_pb_push ((void ***)&c->env, &c->n_env, e);
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.containers[0].env[0].valueFrom.configMapKeyRef."
                   "key: Required value");
    o = s_pod ("web");
    c = o->pod->spec->containers[0];
    Hs__EnvFromSource *f = hs_pb_new (&hs__env_from_source__descriptor);
    hs_pb_push ((void ***)&c->env_from, &c->n_env_from, f);
    EXPECT_MSG (o, "Pod \"web\" is invalid: spec.containers[0].envFrom[0]: Invalid value: \"\": "
                   "must specify one of: `configMapRef` or `secretRef`");
}

/* ------------------------------------------------------------------ HorizontalPodAutoscaler */

static Hs__Object *s_hpa_yaml (const char *spec)
{
    _cleanup_free_ char *yaml = hs_sprintf ("apiVersion: autoscaling/v2\n"
                                            "kind: HorizontalPodAutoscaler\n"
                                            "metadata: {name: web}\n"
                                            "spec:\n%s",
                                            spec);
    hs_manifest_t m = {0};
    char *error = NULL;
    int r = hs_manifest_parse (yaml, strlen (yaml), "hpa.yaml", &m, &error);
    if (r < 0) fprintf (stderr, "  %s\n", error);
    free (error);
    CHECK_EQ_INT (r, 0);
    CHECK_EQ_INT (m.n, 1);
    Hs__Object *o = m.n ? TAKE_PTR (m.docs[0].object) : NULL;
    hs_manifest_free (&m);
    return o;
}

#define HPA_REF "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
#define HPA_PRE "HorizontalPodAutoscaler \"web\" is invalid: "

static void test_hpa_defaults (void)
{
    /* kube's v2 defaults: minReplicas 1, cpu at 80%, no behavior */
    Hs__Object *o = s_hpa_yaml (HPA_REF "  maxReplicas: 5\n");
    hs_obj_defaults (o, 1000);
    const Hs__HorizontalPodAutoscalerSpec *s = o->horizontal_pod_autoscaler->spec;
    CHECK_EQ_STR (o->horizontal_pod_autoscaler->metadata->namespace_, "default");
    CHECK (s->min_replicas && s->min_replicas->value == 1);
    CHECK_EQ_INT (s->n_metrics, 1);
    CHECK_EQ_STR (s->metrics[0]->type, "Resource");
    CHECK_EQ_STR (s->metrics[0]->resource->name, "cpu");
    CHECK_EQ_STR (s->metrics[0]->resource->target->type, "Utilization");
    CHECK_EQ_INT (s->metrics[0]->resource->target->average_utilization->value, 80);
    CHECK (s->behavior == NULL);
    char *msg = NULL;
    CHECK_EQ_INT (hs_obj_validate (o, &msg), 0);
    hs_pb_free (o);

    /* a behavior given is completed as GenerateHPAScale{Up,Down}Rules do */
    o = s_hpa_yaml (HPA_REF "  minReplicas: 2\n  maxReplicas: 5\n"
                            "  behavior:\n    scaleDown: {selectPolicy: Min}\n");
    hs_obj_defaults (o, 1000);
    s = o->horizontal_pod_autoscaler->spec;
    CHECK_EQ_INT (s->min_replicas->value, 2);
    const Hs__HPAScalingRules *up = s->behavior->scale_up, *down = s->behavior->scale_down;
    CHECK (up && up->stabilization_window_seconds && up->stabilization_window_seconds->value == 0);
    CHECK_EQ_STR (up->select_policy, "Max");
    CHECK_EQ_INT (up->n_policies, 2);
    CHECK_EQ_STR (up->policies[0]->type, "Pods");
    CHECK_EQ_INT (up->policies[0]->value, 4);
    CHECK_EQ_INT (up->policies[0]->period_seconds, 15);
    CHECK_EQ_STR (up->policies[1]->type, "Percent");
    CHECK_EQ_INT (up->policies[1]->value, 100);
    CHECK_EQ_INT (up->policies[1]->period_seconds, 15);
    /* scale down: the window stays unset (the controller's flag, 300 s) */
    CHECK (down && down->stabilization_window_seconds == NULL);
    CHECK_EQ_STR (down->select_policy, "Min");
    CHECK_EQ_INT (down->n_policies, 1);
    CHECK_EQ_STR (down->policies[0]->type, "Percent");
    CHECK_EQ_INT (down->policies[0]->value, 100);
    CHECK_EQ_INT (down->policies[0]->period_seconds, 15);
    CHECK_EQ_INT (hs_obj_validate (o, &msg), 0);
    hs_pb_free (o);

    /* what the user set is kept */
    o = s_hpa_yaml (HPA_REF "  maxReplicas: 5\n  behavior:\n    scaleUp:\n"
                            "      stabilizationWindowSeconds: 30\n"
                            "      policies: [{type: Pods, value: 1, periodSeconds: 60}]\n");
    hs_obj_defaults (o, 1000);
    up = o->horizontal_pod_autoscaler->spec->behavior->scale_up;
    CHECK_EQ_INT (up->stabilization_window_seconds->value, 30);
    CHECK_EQ_INT (up->n_policies, 1);
    CHECK_EQ_INT (up->policies[0]->period_seconds, 60);
    hs_pb_free (o);
}

static void test_hpa_messages (void)
{
    EXPECT_OK (s_hpa_yaml (HPA_REF "  minReplicas: 1\n  maxReplicas: 10\n  metrics:\n"
                                   "  - type: Resource\n    resource:\n      name: cpu\n"
                                   "      target: {type: Utilization, averageUtilization: 50}\n"
                                   "  - type: ContainerResource\n    containerResource:\n"
                                   "      name: memory\n      container: app\n"
                                   "      target: {type: AverageValue, averageValue: 100Mi}\n"));
    /* min > max, max < 1, min < 1 */
    EXPECT_MSG (s_hpa_yaml (HPA_REF "  minReplicas: 5\n  maxReplicas: 2\n"),
                HPA_PRE "spec.maxReplicas: Invalid value: 2: must be greater than or equal to "
                        "`minReplicas`");
    EXPECT_MSG (s_hpa_yaml (HPA_REF "  minReplicas: 0\n  maxReplicas: 0\n"),
                HPA_PRE "[spec.minReplicas: Invalid value: 0: must be greater than or equal to "
                        "1, spec.maxReplicas: Invalid value: 0: must be greater than 0]");
    /* scaleTargetRef */
    EXPECT_MSG (s_hpa_yaml ("  maxReplicas: 3\n"),
                HPA_PRE "[spec.scaleTargetRef.kind: Required value, "
                        "spec.scaleTargetRef.name: Required value]");
    EXPECT_MSG (s_hpa_yaml ("  scaleTargetRef: {kind: StatefulSet, name: a/b}\n"
                            "  maxReplicas: 3\n"),
                HPA_PRE "[spec.scaleTargetRef.kind: Unsupported value: \"StatefulSet\": "
                        "supported values: \"Deployment\", \"ReplicaSet\" (Homeostat scales "
                        "these only), spec.scaleTargetRef.name: Invalid value: \"a/b\": may not "
                        "contain '/']");
    EXPECT_MSG (s_hpa_yaml ("  scaleTargetRef: {apiVersion: apps/v2, kind: ReplicaSet, name: "
                            "..}\n  maxReplicas: 3\n"),
                HPA_PRE "[spec.scaleTargetRef.name: Invalid value: \"..\": may not be '..', "
                        "spec.scaleTargetRef.apiVersion: Unsupported value: \"apps/v2\": "
                        "supported values: \"apps/v1\"]");
    /* metric types Homeostat does not support: parsed, then refused by name */
    EXPECT_MSG (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  metrics:\n  - type: Pods\n"
                                    "    pods:\n      metric: {name: packets-per-second}\n"
                                    "      target: {type: AverageValue, averageValue: 1k}\n"),
                HPA_PRE "spec.metrics[0].type: Unsupported value: \"Pods\": supported values: "
                        "\"ContainerResource\", \"Resource\" (Homeostat does not support Pods, "
                        "Object or External metrics: it has no custom or external metrics API)");
    EXPECT_HAS (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  metrics:\n  - type: External\n"
                                    "    external:\n      metric: {name: queue}\n"
                                    "      target: {type: Value, value: \"30\"}\n"),
                "spec.metrics[0].type: Unsupported value: \"External\"");
    EXPECT_HAS (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  metrics:\n  - type: Object\n"
                                    "    object:\n      metric: {name: hits}\n"
                                    "      describedObject: {kind: Service, name: web}\n"
                                    "      target: {type: Value, value: \"30\"}\n"),
                "spec.metrics[0].type: Unsupported value: \"Object\"");
    EXPECT_MSG (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  metrics:\n  - type: Cpu\n"),
                HPA_PRE "spec.metrics[0].type: Unsupported value: \"Cpu\": supported values: "
                        "\"ContainerResource\", \"External\", \"Object\", \"Pods\", "
                        "\"Resource\"");
    EXPECT_MSG (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  metrics:\n  - type: Resource\n"),
                HPA_PRE "spec.metrics[0].resource: Required value: must populate information "
                        "for the given metric source");
    EXPECT_MSG (s_hpa_yaml (HPA_REF
                            "  maxReplicas: 3\n  metrics:\n  - type: Resource\n"
                            "    resource:\n      name: cpu\n"
                            "      target: {type: Utilization, averageUtilization: 50}\n"
                            "    containerResource:\n      name: cpu\n      container: app\n"
                            "      target: {type: Utilization, averageUtilization: 50}\n"),
                HPA_PRE "spec.metrics[0].containerResource: Forbidden: must populate the given "
                        "metric source only");
    /* targets */
    EXPECT_MSG (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  metrics:\n  - type: Resource\n"
                                    "    resource:\n      name: cpu\n      target: {}\n"),
                HPA_PRE "[spec.metrics[0].resource.target.type: Required value: must specify "
                        "a metric target type, spec.metrics[0].resource.target.type: Invalid "
                        "value: \"\": must be either Utilization, Value, or AverageValue, "
                        "spec.metrics[0].resource.target.averageUtilization: Required value: "
                        "must set either a target raw value or a target utilization]");
    EXPECT_MSG (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  metrics:\n  - type: Resource\n"
                                    "    resource:\n      name: memory\n"
                                    "      target: {type: Utilization, averageUtilization: 0, "
                                    "averageValue: \"-1\"}\n"),
                HPA_PRE "[spec.metrics[0].resource.target.averageValue: Invalid value: \"-1\": "
                        "must be positive, spec.metrics[0].resource.target.averageUtilization: "
                        "Invalid value: 0: must be greater than 0, "
                        "spec.metrics[0].resource.target.averageValue: Forbidden: may not set "
                        "both a target raw value and a target utilization]");
    EXPECT_MSG (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  metrics:\n  - type: Resource\n"
                                    "    resource:\n      name: cpu\n"
                                    "      target: {type: Utilization, averageValue: 500m}\n"),
                HPA_PRE "spec.metrics[0].resource.target.averageUtilization: Required value: "
                        "must be set when the target type is Utilization");
    EXPECT_MSG (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  metrics:\n  - type: Resource\n"
                                    "    resource:\n      name: cpu\n"
                                    "      target: {type: AverageValue, averageValue: 0m}\n"),
                HPA_PRE "spec.metrics[0].resource.target.averageValue: Invalid value: \"0m\": "
                        "must be positive");
    EXPECT_MSG (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  metrics:\n  - type: Resource\n"
                                    "    resource:\n      name: gpu\n"
                                    "      target: {type: AverageValue, averageValue: 1x}\n"),
                HPA_PRE "[spec.metrics[0].resource.name: Unsupported value: \"gpu\": supported "
                        "values: \"cpu\", \"memory\" (the resources Homeostat measures), "
                        "spec.metrics[0].resource.target.averageValue: Invalid value: \"1x\": "
                        "must be a valid quantity (e.g. \"500m\", \"2\", \"64Mi\", \"1G\")]");
    EXPECT_MSG (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  metrics:\n  - type: ContainerResource\n"
                                    "    containerResource:\n      name: cpu\n"
                                    "      target: {type: Utilization, averageUtilization: 60}\n"),
                HPA_PRE "spec.metrics[0].containerResource.container: Required value: must "
                        "specify a container");
    /* behavior */
    EXPECT_MSG (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  behavior:\n    scaleUp:\n"
                                    "      stabilizationWindowSeconds: 3601\n"
                                    "      selectPolicy: Avg\n"
                                    "      policies: [{type: Pod, value: 0, periodSeconds: 1801}]\n"
                                    "    scaleDown:\n      stabilizationWindowSeconds: -1\n"
                                    "      policies: [{type: Percent, value: 10, periodSeconds: "
                                    "0}]\n"),
                HPA_PRE "[spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: "
                        "3601: must be less than or equal to 3600, "
                        "spec.behavior.scaleUp.selectPolicy: Unsupported value: \"Avg\": "
                        "supported values: \"Disabled\", \"Max\", \"Min\", "
                        "spec.behavior.scaleUp.policies[0].type: Unsupported value: \"Pod\": "
                        "supported values: \"Percent\", \"Pods\", "
                        "spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be "
                        "greater than zero, spec.behavior.scaleUp.policies[0].periodSeconds: "
                        "Invalid value: 1801: must be less than or equal to 1800, "
                        "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: -1: "
                        "must be greater than or equal to zero, "
                        "spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 0: "
                        "must be greater than zero]");
    /* policies: [] is the defaults here (a repeated field has no "set but
     * empty"); kube keeps it and says "must specify at least one Policy" */
    EXPECT_OK (s_hpa_yaml (HPA_REF "  maxReplicas: 3\n  behavior:\n    scaleUp:\n"
                                   "      policies: []\n"));
    /* no spec at all; a status that goes negative */
    Hs__Object *o = hs_obj_new (HS_KIND_HPA, "", "web");
    o->horizontal_pod_autoscaler->status =
        hs_pb_new (&hs__horizontal_pod_autoscaler_status__descriptor);
    o->horizontal_pod_autoscaler->status->desired_replicas = -1;
    EXPECT_HAS (o, "status.desiredReplicas: Invalid value: -1: must be greater than or equal to 0");
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"valid_objects", test_valid_objects},
        {"pod_messages", test_pod_messages},
        {"meta_messages", test_meta_messages},
        {"workload_messages", test_workload_messages},
        {"defaults", test_defaults},
        {"normalize", test_normalize},
        {"selector", test_selector},
        {"quote_escapes", test_quote_escapes},
        {"service_defaults", test_service_defaults},
        {"service_messages", test_service_messages},
        {"endpoints_messages", test_endpoints_messages},
        {"pod_network_messages", test_pod_network_messages},
        {"config_messages", test_config_messages},
        {"hpa_defaults", test_hpa_defaults},
        {"hpa_messages", test_hpa_messages},
    };
    return HS_TEST_RUN (tests);
}
