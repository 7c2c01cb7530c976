/*  test_metrics.c: hs-metrics' page (metrics_render) and cache
 *  (metrics_cache): escaping, every family's shape, the format's rules
 *  (checked by a parser here and by promtool when it is installed), and
 *  liveness, restarts, staleness and forgetting.
 */
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_util.h"
#include "metrics_cache.h"
#include "metrics_render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS 1000000LL

static char *s_str (void (*fn) (hs_buf_t *, const char *), const char *in)
{
    hs_buf_t b = {0};
    hs_buf_append (&b, "", 0);
    fn (&b, in);
    return hs_buf_take (&b);
}

static char *s_dbl (double v)
{
    hs_buf_t b = {0};
    hs_buf_append (&b, "", 0);
    metrics_put_double (&b, v);
    return hs_buf_take (&b);
}

static void test_escaping (void)
{
    _cleanup_free_ char *a = s_str (metrics_put_value, "a\\b\"c\nd");
    CHECK_EQ_STR (a, "a\\\\b\\\"c\\nd");
    _cleanup_free_ char *b = s_str (metrics_put_value, "caf\xc3\xa9 \xff x\xe0\x80\x80");
    CHECK_EQ_STR (b, "caf\xc3\xa9 \xef\xbf\xbd x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    _cleanup_free_ char *c = s_str (metrics_put_value, "\xed\xa0\x80"); /* a surrogate */
    CHECK_EQ_STR (c, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    _cleanup_free_ char *d = s_str (metrics_put_name, "app.kubernetes.io/name");
    CHECK_EQ_STR (d, "app_kubernetes_io_name");
    _cleanup_free_ char *e = s_str (metrics_put_name, "9lives");
    CHECK_EQ_STR (e, "_9lives");
    _cleanup_free_ char *f = s_str (metrics_put_name, "");
    CHECK_EQ_STR (f, "_");
    _cleanup_free_ char *g = s_str (metrics_put_name, "a\"b\nc{d}=e\xc3\xa9");
    CHECK_EQ_STR (g, "a_b_c_d__e__");
    static const struct {
        double v;
        const char *want;
    } dbl[] = {{0.5, "0.5"},
               {1, "1"},
               {-3, "-3"},
               {0.1, "0.1"},
               {2.5e-7, "2.5e-07"},
               {1.0 / 3, "0.33333333333333331"},
               {0.0 / 0.0, "NaN"},
               {1.0 / 0.0, "+Inf"},
               {-1.0 / 0.0, "-Inf"},
               /* beyond int64: printed as a float, never converted */
               {1e20, "1e+20"},
               {-1e20, "-1e+20"},
               {9223372036854775808.0, "9.2233720368547758e+18"}};
    for (size_t i = 0; i < HS_ARRAY_LEN (dbl); i++) {
        _cleanup_free_ char *s = s_dbl (dbl[i].v);
        CHECK_EQ_STR (s, dbl[i].want);
    }
}

/* ------------------------------------------------------------------ a parser */

static bool s_name_char (char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Checks one sample line; returns its metric name (malloc'd) or NULL. */
static char *s_sample (const char *line)
{
    const char *p = line;
    if (!s_name_char (*p, true)) return NULL;
    while (s_name_char (*p, false)) p++;
    char *name = hs_strndup (line, (size_t)(p - line));
    char seen[32][64];
    size_t n_seen = 0;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            const char *k = p;
            if (!s_name_char (*p, true) || *p == ':') goto bad;
            while (s_name_char (*p, false) && *p != ':') p++;
            size_t kl = (size_t)(p - k);
            if (kl >= 64 || (kl == 8 && !memcmp (k, "instance", 8)) ||
                (kl == 3 && !memcmp (k, "job", 3)) || (kl >= 2 && !memcmp (k, "__", 2)))
                goto bad;
            for (size_t i = 0; i < n_seen; i++)
                if (strlen (seen[i]) == kl && !memcmp (seen[i], k, kl)) goto bad; /* twice */
            if (n_seen < 32) memcpy (seen[n_seen], k, kl), seen[n_seen++][kl] = '\0';
            if (p[0] != '=' || p[1] != '"') goto bad;
            p += 2;
            while (*p && *p != '"') {
                if (*p == '\n') goto bad;
                if (*p == '\\') {
                    if (p[1] != '\\' && p[1] != '"' && p[1] != 'n') goto bad;
                    p++;
                }
                p++;
            }
            if (*p != '"') goto bad;
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                goto bad;
        }
        p++;
    }
    if (*p != ' ') goto bad;
    p++;
    if (strcmp (p, "NaN") && strcmp (p, "+Inf") && strcmp (p, "-Inf")) {
        char *end;
        strtod (p, &end);
        if (end == p || *end) goto bad;
    }
    return name;
bad:
    fprintf (stderr, "  bad line: %s\n", line);
    free (name);
    return NULL;
}

/* Checks a whole page: every line a comment or a sample, each family's
 * HELP and TYPE once and before its samples, samples of a family
 * together. Returns the number of samples, -1 if bad. */
static long s_check_page (const char *page)
{
    char *copy = hs_strdup (page), *save = NULL;
    long samples = 0;
    bool ok = page[0] && page[strlen (page) - 1] == '\n';
    char **fams = NULL;
    size_t n_fams = 0;
    char *cur = NULL; /* the family of the last TYPE */
    for (char *l = strtok_r (copy, "\n", &save); l && ok; l = strtok_r (NULL, "\n", &save)) {
        if (!strncmp (l, "# HELP ", 7) || !strncmp (l, "# TYPE ", 7)) {
            char name[256];
            if (sscanf (l + 7, "%255s", name) != 1) ok = false;
            if (!strncmp (l, "# TYPE ", 7)) {
                for (size_t i = 0; i < n_fams; i++)
                    if (!strcmp (fams[i], name))
                        ok = false, fprintf (stderr, "  TYPE twice: %s\n", name);
                fams = hs_realloc (fams, (n_fams + 1) * sizeof *fams);
                fams[n_fams++] = cur = hs_strdup (name);
            }
            continue;
        }
        char *name = s_sample (l);
        if (!name) {
            ok = false;
            break;
        }
        /* a sample belongs to the current family (histograms: its suffixes) */
        size_t cl = cur ? strlen (cur) : 0;
        if (!cur || strncmp (name, cur, cl) != 0 ||
            (name[cl] && strcmp (name + cl, "_bucket") && strcmp (name + cl, "_sum") &&
             strcmp (name + cl, "_count"))) {
            fprintf (stderr, "  sample outside its family (%s): %s\n", cur ? cur : "none", l);
            ok = false;
        }
        free (name);
        samples++;
    }
    for (size_t i = 0; i < n_fams; i++) free (fams[i]);
    free (fams);
    free (copy);
    return ok ? samples : -1;
}

static int s_strp_cmp (const void *a, const void *b)
{
    return strcmp (*(char *const *)a, *(char *const *)b);
}

/* The series (name and labels) of a page, each once: false if one repeats. */
static bool s_unique_series (const char *page)
{
    char *copy = hs_strdup (page), *save = NULL;
    char **lines = NULL;
    size_t n = 0;
    for (char *l = strtok_r (copy, "\n", &save); l; l = strtok_r (NULL, "\n", &save)) {
        if (l[0] == '#') continue;
        lines = hs_realloc (lines, (n + 1) * sizeof *lines);
        lines[n++] = hs_strndup (l, (size_t)(strrchr (l, ' ') - l));
    }
    qsort (lines, n, sizeof *lines, s_strp_cmp);
    bool ok = true;
    for (size_t i = 1; i < n; i++)
        if (!strcmp (lines[i], lines[i - 1])) {
            fprintf (stderr, "  series twice: %s\n", lines[i]);
            ok = false;
        }
    for (size_t i = 0; i < n; i++) free (lines[i]);
    free (lines);
    free (copy);
    return ok;
}

/* promtool check metrics on the page, when promtool is installed: its exit code, or -1 */
static int s_promtool (const char *page)
{
    if (access ("/usr/bin/promtool", X_OK) != 0) {
        fprintf (stderr, "  (no /usr/bin/promtool: not checked with it)\n");
        return -1;
    }
    _cleanup_free_ char *path = hs_sprintf ("%s/page.txt", hs_test_tmpdir ());
    FILE *f = fopen (path, "we");
    fputs (page, f);
    fclose (f);
    _cleanup_free_ char *cmd = hs_sprintf ("/usr/bin/promtool check metrics < %s 1>&2", path);
    int rc = system (cmd);
    return WIFEXITED (rc) ? WEXITSTATUS (rc) : 128;
}

/* ------------------------------------------------------------------ fixtures */

static Hs__Histogram *s_hist (const char *name, double sum)
{
    Hs__Histogram *h = hs_pb_new (&hs__histogram__descriptor);
    hs_pb_set_str (&h->name, name);
    h->n_bounds = h->n_counts = 3;
    h->bounds = hs_calloc (3, sizeof *h->bounds);
    h->counts = hs_calloc (3, sizeof *h->counts);
    double b[] = {0.001, 0.01, 0.1};
    uint64_t c[] = {2, 5, 7};
    memcpy (h->bounds, b, sizeof b);
    memcpy (h->counts, c, sizeof c);
    h->count = 9;
    h->sum = sum;
    return h;
}

static Hs__ComponentHeartbeat *s_component_hb (const char *comp, const char *inst, int64_t started)
{
    Hs__ComponentHeartbeat *hb = hs_pb_new (&hs__component_heartbeat__descriptor);
    hs_pb_set_str (&hb->component, comp);
    hs_pb_set_str (&hb->instance, inst);
    hb->started_at_ns = started;
    hb->interval_ms = 1000;
    hb->observed_revision = 40;
    hb->garbage = 3;
    Hs__Counter *c = hs_pb_new (&hs__counter__descriptor);
    hs_pb_set_str (&c->name, "pods_bound");
    c->value = 12;
    hs_pb_push ((void ***)&hb->counters, &hb->n_counters, c);
    Hs__Counter *c2 = hs_pb_new (&hs__counter__descriptor); /* the same name twice */
    hs_pb_set_str (&c2->name, "pods_bound");
    c2->value = 99;
    hs_pb_push ((void ***)&hb->counters, &hb->n_counters, c2);
    Hs__Counter *c3 = hs_pb_new (&hs__counter__descriptor); /* a bad name */
    hs_pb_set_str (&c3->name, "bad name\n\"x\"\\\xff");
    c3->value = 1;
    hs_pb_push ((void ***)&hb->counters, &hb->n_counters, c3);
    Hs__Gauge *g = hs_pb_new (&hs__gauge__descriptor);
    hs_pb_set_str (&g->name, "unschedulable_pods");
    g->value = 2;
    hs_pb_push ((void ***)&hb->gauges, &hb->n_gauges, g);
    hs_pb_push ((void ***)&hb->histograms, &hb->n_histograms,
                s_hist ("pass_duration_seconds", 0.05));
    Hs__Histogram *bad = s_hist ("broken_seconds", 0.1); /* counts not cumulative: skipped */
    bad->counts[2] = 1;
    hs_pb_push ((void ***)&hb->histograms, &hb->n_histograms, bad);
    return hb;
}

static Hs__StoreHeartbeat *s_store_hb (int64_t started)
{
    Hs__StoreHeartbeat *hb = hs_pb_new (&hs__store_heartbeat__descriptor);
    hb->epoch = 7;
    hb->revision = 45;
    hb->started_at_ns = started;
    hb->commands = 100;
    hb->commits = 90;
    hb->objects = 30;
    hs_pb_set_str (&hb->instance, "");
    hs_pb_push ((void ***)&hb->histograms, &hb->n_histograms,
                s_hist ("fsync_duration_seconds", 0.02));
    Hs__Gauge *g = hs_pb_new (&hs__gauge__descriptor);
    hs_pb_set_str (&g->name, "queue_depth");
    g->value = 1.5;
    hs_pb_push ((void ***)&hb->gauges, &hb->n_gauges, g);
    Hs__Counter *c = hs_pb_new (&hs__counter__descriptor); /* collides with a fixed family */
    hs_pb_set_str (&c->name, "commands");
    c->value = 5;
    hs_pb_push ((void ***)&hb->counters, &hb->n_counters, c);
    return hb;
}

static void s_label (Hs__ObjectMeta *m, const char *k, const char *v)
{
    hs_pb_map_set ((void ***)&m->labels, &m->n_labels, &hs__object_meta__labels_entry__descriptor,
                   k, v);
}

static Hs__Object *s_pod (const char *ns, const char *name, const char *node, const char *phase)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, ns, name);
    Hs__Pod *p = o->pod;
    hs_pb_set_str (&p->metadata->uid, "uid-1");
    s_label (p->metadata, "app", "web");
    s_label (p->metadata, "app.kubernetes.io/name", "we\"b\\x\ny");
    s_label (p->metadata, "app-kubernetes-io/name", "other");
    p->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_set_str (&p->spec->node_name, node);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "main");
    c->resources = hs_pb_new (&hs__resource_requirements__descriptor);
    c->resources->requests = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&c->resources->requests->cpu, "250m");
    hs_pb_set_str (&c->resources->requests->memory, "64Mi");
    hs_pb_push ((void ***)&p->spec->containers, &p->spec->n_containers, c);
    p->status = hs_pb_new (&hs__pod_status__descriptor);
    hs_pb_set_str (&p->status->phase, phase);
    hs_pb_set_str (&p->status->pod_ip, "10.1.0.5");
    Hs__ContainerStatus *cs = hs_pb_new (&hs__container_status__descriptor);
    hs_pb_set_str (&cs->name, "main");
    cs->restart_count = 4;
    hs_pb_push ((void ***)&p->status->container_statuses, &p->status->n_container_statuses, cs);
    Hs__PodCondition *pc = hs_pb_new (&hs__pod_condition__descriptor);
    hs_pb_set_str (&pc->type, "Ready");
    hs_pb_set_str (&pc->status, "True");
    hs_pb_push ((void ***)&p->status->conditions, &p->status->n_conditions, pc);
    return o;
}

static Hs__Object *s_node (const char *name)
{
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, "", name);
    Hs__Node *n = o->node;
    n->status = hs_pb_new (&hs__node_status__descriptor);
    n->status->capacity = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&n->status->capacity->cpu, "4");
    hs_pb_set_str (&n->status->capacity->memory, "8Gi");
    hs_pb_set_str (&n->status->capacity->pods, "110");
    n->status->allocatable = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&n->status->allocatable->cpu, "3500m");
    Hs__NodeCondition *c = hs_pb_new (&hs__node_condition__descriptor);
    hs_pb_set_str (&c->type, "Ready");
    hs_pb_set_str (&c->status, "True");
    hs_pb_push ((void ***)&n->status->conditions, &n->status->n_conditions, c);
    return o;
}

static Hs__NodeUsage *s_usage (const char *node, int64_t ts, uint64_t cpu_ns)
{
    Hs__NodeUsage *u = hs_pb_new (&hs__node_usage__descriptor);
    hs_pb_set_str (&u->node, node);
    u->timestamp = ts;
    u->interval_ms = 1000;
    u->cpu_usage_core_ns = 5000000000ULL;
    u->memory_working_set_bytes = 1 << 30;
    Hs__PodUsage *p = hs_pb_new (&hs__pod_usage__descriptor);
    hs_pb_set_str (&p->namespace_, "default");
    hs_pb_set_str (&p->name, "busy");
    Hs__ContainerUsage *c = hs_pb_new (&hs__container_usage__descriptor);
    hs_pb_set_str (&c->name, "main");
    c->cpu_usage_core_ns = cpu_ns;
    c->memory_working_set_bytes = 1000;
    c->oom_kills = 1;
    c->started_at = 1700000000LL * 1000000000LL;
    hs_pb_push ((void ***)&p->containers, &p->n_containers, c);
    hs_pb_push ((void ***)&u->pods, &u->n_pods, p);
    return u;
}

static Hs__Object *s_deployment (void)
{
    Hs__Object *o = hs_obj_new (HS_KIND_DEPLOYMENT, "default", "web");
    o->deployment->spec = hs_pb_new (&hs__deployment_spec__descriptor);
    o->deployment->spec->replicas = hs_pb_new (&hs__int32_value__descriptor);
    o->deployment->spec->replicas->value = 3;
    o->deployment->status = hs_pb_new (&hs__deployment_status__descriptor);
    o->deployment->status->available_replicas = 2;
    return o;
}

static Hs__Object *s_hpa_obj (void)
{
    Hs__Object *o = hs_obj_new (HS_KIND_HPA, "default", "web");
    Hs__HorizontalPodAutoscaler *h = o->horizontal_pod_autoscaler;
    h->spec = hs_pb_new (&hs__horizontal_pod_autoscaler_spec__descriptor);
    h->spec->max_replicas = 10;
    Hs__MetricSpec *ms = hs_pb_new (&hs__metric_spec__descriptor);
    hs_pb_set_str (&ms->type, "Resource");
    ms->resource = hs_pb_new (&hs__resource_metric_source__descriptor);
    hs_pb_set_str (&ms->resource->name, "cpu");
    ms->resource->target = hs_pb_new (&hs__metric_target__descriptor);
    hs_pb_set_str (&ms->resource->target->type, "Utilization");
    ms->resource->target->average_utilization = hs_pb_new (&hs__int32_value__descriptor);
    ms->resource->target->average_utilization->value = 50;
    hs_pb_push ((void ***)&h->spec->metrics, &h->spec->n_metrics, ms);
    h->status = hs_pb_new (&hs__horizontal_pod_autoscaler_status__descriptor);
    h->status->current_replicas = 2;
    h->status->desired_replicas = 3;
    return o;
}

static void test_page (void)
{
    Hs__ComponentHeartbeat *sched = s_component_hb ("hs-scheduler", "a", 1);
    Hs__ComponentHeartbeat *sched2 = s_component_hb ("hs-scheduler", "b", 1);
    Hs__StoreHeartbeat *store = s_store_hb (1);
    metrics_member_t members[] = {{"scheduler", "b", sched2, false, 0},
                                  {"scheduler", "a", sched, true, 2},
                                  {"scheduler", "a", sched, true, 2}}; /* a repeat */
    metrics_store_t stores[] = {{"", store, true, 1}};
    Hs__NodeUsage *u1 = s_usage ("n1", 100, 1500000000ULL), *u2 = s_usage ("n2", 50, 7);
    const Hs__NodeUsage *usage[] = {u2, u1};
    Hs__Object *pod = s_pod ("default", "busy", "n1", "Running");
    Hs__Object *node = s_node ("n1"), *dep = s_deployment (), *hpa = s_hpa_obj ();
    const Hs__Object *pods[] = {pod}, *nodes[] = {node}, *deps[] = {dep}, *hpas[] = {hpa};
    metrics_input_t in = {.members = members,
                          .n_members = 3,
                          .stores = stores,
                          .n_stores = 1,
                          .usage = usage,
                          .n_usage = 2,
                          .pods = pods,
                          .n_pods = 1,
                          .nodes = nodes,
                          .n_nodes = 1,
                          .deployments = deps,
                          .n_deployments = 1,
                          .hpas = hpas,
                          .n_hpas = 1};
    hs_buf_t b = {0};
    metrics_render (&in, &b);
    char *page = b.data;
    CHECK (s_check_page (page) > 50);
    CHECK (s_unique_series (page));
    static const char *const want[] = {
        "# TYPE homeostat_component_up gauge\n",
        "homeostat_component_up{component=\"scheduler\",member=\"a\"} 1\n",
        "homeostat_component_up{component=\"scheduler\",member=\"b\"} 0\n",
        "homeostat_component_up{component=\"store\",member=\"\"} 1\n",
        "homeostat_component_restarts_total{component=\"scheduler\",member=\"a\"} 2\n",
        "homeostat_component_revision_lag{component=\"scheduler\",member=\"a\"} 5\n",
        "homeostat_component_start_time_seconds{component=\"scheduler\",member=\"a\"} "
        "0.000000001\n",
        "homeostat_store_up{member=\"\"} 1\n",
        "homeostat_store_commands_total{member=\"\"} 100\n",
        "homeostat_store_revision{member=\"\"} 45\n",
        "# TYPE homeostat_store_fsync_duration_seconds histogram\n",
        "homeostat_store_fsync_duration_seconds_bucket{member=\"\",le=\"0.001\"} 2\n",
        "homeostat_store_fsync_duration_seconds_bucket{member=\"\",le=\"+Inf\"} 9\n",
        "homeostat_store_fsync_duration_seconds_sum{member=\"\"} 0.02\n",
        "homeostat_store_fsync_duration_seconds_count{member=\"\"} 9\n",
        "homeostat_store_queue_depth{member=\"\"} 1.5\n",
        "# TYPE homeostat_scheduler_pods_bound_total counter\n",
        "homeostat_scheduler_pods_bound_total{member=\"a\"} 12\n",
        "homeostat_scheduler_bad_name__x____total{member=\"a\"} 1\n",
        "homeostat_scheduler_unschedulable_pods{member=\"b\"} 2\n",
        "homeostat_scheduler_pass_duration_seconds_bucket{member=\"a\",le=\"0.01\"} 5\n",
        "kube_node_status_condition{node=\"n1\",condition=\"Ready\",status=\"true\"} 1\n",
        "kube_node_status_condition{node=\"n1\",condition=\"Ready\",status=\"false\"} 0\n",
        "kube_node_status_capacity{node=\"n1\",resource=\"cpu\",unit=\"core\"} 4\n",
        "kube_node_status_capacity{node=\"n1\",resource=\"memory\",unit=\"byte\"} 8589934592\n",
        "kube_node_status_allocatable{node=\"n1\",resource=\"cpu\",unit=\"core\"} 3.5\n",
        "node_cpu_usage_seconds_total{node=\"n1\"} 5\n",
        "container_cpu_usage_seconds_total{container=\"main\",namespace=\"default\",pod=\"busy\"} "
        "1.5\n",
        "container_memory_working_set_bytes{container=\"main\",namespace=\"default\",pod=\"busy\"} "
        "1000\n",
        "container_oom_events_total{container=\"main\",namespace=\"default\",pod=\"busy\"} 1\n",
        "container_start_time_seconds{container=\"main\",namespace=\"default\",pod=\"busy\"} "
        "1700000000\n",
        "pod_memory_working_set_bytes{namespace=\"default\",pod=\"busy\"} 1000\n",
        "kube_pod_status_phase{namespace=\"default\",pod=\"busy\",uid=\"uid-1\",phase=\"Running\"} "
        "1\n",
        "kube_pod_status_phase{namespace=\"default\",pod=\"busy\",uid=\"uid-1\",phase=\"Pending\"} "
        "0\n",
        "kube_pod_status_ready{namespace=\"default\",pod=\"busy\",uid=\"uid-1\",condition=\"true\"}"
        " 1\n",
        "kube_pod_container_status_restarts_total{namespace=\"default\",pod=\"busy\",uid=\"uid-1\","
        "container=\"main\"} 4\n",
        "kube_pod_container_resource_requests{namespace=\"default\",pod=\"busy\",uid=\"uid-1\","
        "container=\"main\",node=\"n1\",resource=\"cpu\",unit=\"core\"} 0.25\n",
        "kube_pod_info{namespace=\"default\",pod=\"busy\",uid=\"uid-1\",host_ip=\"\",pod_ip=\"10.1."
        "0.5\","
        "node=\"n1\",",
        "kube_pod_labels{namespace=\"default\",pod=\"busy\",uid=\"uid-1\",label_app=\"web\","
        "label_app_kubernetes_io_name_conflict1=\"other\","
        "label_app_kubernetes_io_name_conflict2=\"we\\\"b\\\\x\\ny\"} 1\n",
        "kube_deployment_spec_replicas{namespace=\"default\",deployment=\"web\"} 3\n",
        "kube_deployment_status_replicas_available{namespace=\"default\",deployment=\"web\"} 2\n",
        "kube_horizontalpodautoscaler_spec_max_replicas{namespace=\"default\","
        "horizontalpodautoscaler=\"web\"} 10\n",
        "kube_horizontalpodautoscaler_spec_min_replicas{namespace=\"default\","
        "horizontalpodautoscaler=\"web\"} 1\n",
        "kube_horizontalpodautoscaler_status_desired_replicas{namespace=\"default\","
        "horizontalpodautoscaler=\"web\"} 3\n",
        "kube_horizontalpodautoscaler_spec_target_metric{namespace=\"default\","
        "horizontalpodautoscaler=\"web\",metric_name=\"cpu\",metric_target_type=\"utilization\","
        "container=\"\"} 50\n",
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (want); i++) CHECK_CONTAINS (page, want[i]);
    /* written once: the repeated counter, the colliding store counter, the broken histogram */
    CHECK (!strstr (page, "} 99\n"));
    CHECK (!strstr (page, "homeostat_store_commands_total{member=\"\"} 5\n"));
    CHECK (!strstr (page, "broken_seconds_bucket"));
    CHECK (strstr (page,
                   "container_cpu_usage_seconds_total{container=\"main\",namespace=\"default\","
                   "pod=\"busy\"} 0.000000007") == NULL); /* n2's older sample lost */
    CHECK (!strstr (page, "instance=") && !strstr (page, "job="));
    CHECK (!strstr (page, "pod_cpu_usage_seconds_total")); /* a sum of counters that restart */
    int rc = s_promtool (page);
    CHECK (rc == 0 || rc == -1);
    hs_buf_free (&b);
    /* nothing at all: still a valid (empty) page */
    metrics_input_t none = {0};
    metrics_render (&none, &b);
    CHECK (s_check_page (b.data) == 0);
    CHECK (s_promtool (b.data) != 1);
    hs_buf_free (&b);
    hs_pb_free (sched);
    hs_pb_free (sched2);
    hs_pb_free (store);
    hs_pb_free (u1);
    hs_pb_free (u2);
    hs_pb_free (pod);
    hs_pb_free (node);
    hs_pb_free (dep);
    hs_pb_free (hpa);
}

/* ------------------------------------------------------------------ the cache */

static Hs__Envelope *s_env_hb (Hs__ComponentHeartbeat *hb)
{
    Hs__Envelope *e = hs_pb_new (&hs__envelope__descriptor);
    e->body_case = HS__ENVELOPE__BODY_HEARTBEAT;
    e->heartbeat = hb;
    return e;
}

static const metrics_member_t *s_find (const metrics_input_t *in, const char *comp,
                                       const char *member)
{
    for (size_t i = 0; i < in->n_members; i++)
        if (!strcmp (in->members[i].component, comp) && !strcmp (in->members[i].member, member))
            return &in->members[i];
    return NULL;
}

static void test_cache (void)
{
    metrics_cache_t *c = metrics_cache_new (60000 * MS);
    int64_t t = 1000000 * MS;
    Hs__Envelope *e = s_env_hb (s_component_hb ("hs-replicas", "r1", 10));
    CHECK_EQ_INT (metrics_cache_add (c, "hb.replicas.r1", e, t), 0);
    CHECK_EQ_INT (metrics_cache_add (c, "hb.replicas", e, t), -EBADMSG); /* no instance */
    CHECK_EQ_INT (metrics_cache_add (c, "hb.replicas.", e, t), -EBADMSG);
    CHECK_EQ_INT (metrics_cache_add (c, "hb.store", e, t), -EBADMSG); /* wrong body */
    CHECK_EQ_INT (metrics_cache_add (c, "usage.n1/", e, t), -EBADMSG);
    metrics_input_t in = {0};
    metrics_cache_input (c, t + 2000 * MS, &in);
    CHECK_EQ_INT (in.n_members, 1);
    const metrics_member_t *m = s_find (&in, "replicas", "r1");
    CHECK (m && m->up && m->restarts == 0);
    /* silent for more than 3 intervals: down, still listed */
    metrics_cache_input (c, t + 3100 * MS, &in);
    m = s_find (&in, "replicas", "r1");
    CHECK (m && !m->up);
    /* back with a new start time: up, one restart */
    e->heartbeat->started_at_ns = 20;
    CHECK_EQ_INT (metrics_cache_add (c, "hb.replicas.r1", e, t + 4000 * MS), 0);
    metrics_cache_input (c, t + 4000 * MS, &in);
    m = s_find (&in, "replicas", "r1");
    CHECK (m && m->up && m->restarts == 1);
    /* the store */
    Hs__Envelope *se = hs_pb_new (&hs__envelope__descriptor);
    se->body_case = HS__ENVELOPE__BODY_STORE_HEARTBEAT;
    se->store_heartbeat = s_store_hb (5);
    CHECK_EQ_INT (metrics_cache_add (c, "hb.store", se, t + 4000 * MS), 0);
    CHECK_EQ_INT (metrics_cache_add (c, "hb.store.x", se, t), -EBADMSG);
    metrics_cache_input (c, t + 5000 * MS, &in);
    CHECK (in.n_stores == 1 && in.stores[0].up && in.stores[0].restarts == 0);
    metrics_cache_input (c, t + 7100 * MS, &in);
    CHECK (in.n_stores == 1 && !in.stores[0].up);
    se->store_heartbeat->started_at_ns = 6;
    CHECK_EQ_INT (metrics_cache_add (c, "hb.store", se, t + 7200 * MS), 0);
    metrics_cache_input (c, t + 7300 * MS, &in);
    CHECK (in.n_stores == 1 && in.stores[0].up && in.stores[0].restarts == 1);
    /* usage: the node in the topic and the body must agree; stale after 3 s */
    Hs__Envelope *ue = hs_pb_new (&hs__envelope__descriptor);
    ue->body_case = HS__ENVELOPE__BODY_USAGE;
    ue->usage = s_usage ("n1", 1, 1);
    CHECK_EQ_INT (metrics_cache_add (c, "usage.n2/", ue, t), -EBADMSG);
    CHECK_EQ_INT (metrics_cache_add (c, "usage.n1", ue, t), -EBADMSG);
    CHECK_EQ_INT (metrics_cache_add (c, "usage.n1/", ue, t + 8000 * MS), 0);
    metrics_cache_input (c, t + 10900 * MS, &in);
    CHECK_EQ_INT (in.n_usage, 1);
    metrics_cache_input (c, t + 11100 * MS, &in);
    CHECK_EQ_INT (in.n_usage, 0);
    CHECK_EQ_INT (metrics_cache_size (c), 3);
    /* forgotten a minute after the last word */
    metrics_cache_input (c, t + 70000 * MS, &in);
    CHECK_EQ_INT (in.n_members + in.n_stores + in.n_usage, 0);
    CHECK_EQ_INT (metrics_cache_size (c), 0);
    /* bounded: a new instance past METRICS_CACHE_MAX is refused, a known one kept */
    Hs__ComponentHeartbeat *small = hs_pb_new (&hs__component_heartbeat__descriptor);
    Hs__Envelope *fe = s_env_hb (small);
    char topic[64];
    for (int i = 0; i < METRICS_CACHE_MAX; i++) {
        snprintf (topic, sizeof topic, "hb.flood.%d", i);
        if (metrics_cache_add (c, topic, fe, t + 80000 * MS) != 0) break;
    }
    CHECK_EQ_INT (metrics_cache_size (c), METRICS_CACHE_MAX);
    CHECK_EQ_INT (metrics_cache_add (c, "hb.flood.new", fe, t + 80000 * MS), -ENOSPC);
    CHECK_EQ_INT (metrics_cache_add (c, "hb.flood.7", fe, t + 80000 * MS), 0);
    CHECK_EQ_INT (metrics_cache_add (c, "usage.n1/", ue, t + 80000 * MS), 0); /* nodes apart */
    hs_pb_free (fe);
    hs_pb_free (e);
    hs_pb_free (se);
    hs_pb_free (ue);
    metrics_cache_destroy (&c);
    metrics_cache_destroy (&c);
}

/* A replicated store's members (issue 19): hb.raft.<member> in the cache,
 * homeostat_store_member_* on the page, one role series per role. */
static Hs__Envelope *s_raft_env (const char *member, const char *role, uint64_t term)
{
    Hs__Envelope *e = hs_pb_new (&hs__envelope__descriptor);
    e->body_case = HS__ENVELOPE__BODY_STORE_HEARTBEAT;
    e->store_heartbeat = s_store_hb (5);
    Hs__StoreHeartbeat *hb = e->store_heartbeat;
    hs_pb_set_str (&hb->member, member);
    hs_pb_set_str (&hb->role, role);
    hb->term = term;
    hb->commit_index = 42;
    hb->applied_index = 41;
    hb->snapshot_index = 30;
    hb->snapshots_installed = 2;
    return e;
}

static void test_raft_members (void)
{
    metrics_cache_t *c = metrics_cache_new (60000 * MS);
    int64_t t = 1000000 * MS;
    Hs__Envelope *l = s_raft_env ("s1", "leader", 3);
    Hs__Envelope *f = s_raft_env ("s2", "follower", 3);
    Hs__Envelope *x = s_raft_env ("s3", "learner", 3); /* a role we do not list */
    CHECK_EQ_INT (metrics_cache_add (c, "hb.raft.s1", l, t), 0);
    CHECK_EQ_INT (metrics_cache_add (c, "hb.raft.s2", f, t), 0);
    CHECK_EQ_INT (metrics_cache_add (c, "hb.raft.s3", x, t - 5000 * MS), 0);
    CHECK_EQ_INT (metrics_cache_add (c, "hb.raft.", l, t), -EBADMSG);
    CHECK_EQ_INT (metrics_cache_add (c, "hb.raft.S1", l, t), -EBADMSG);
    CHECK_EQ_INT (metrics_cache_add (c, "hb.raft.s1.x", l, t), -EBADMSG);
    /* the leader's hb.store stays the store replica's, as before */
    CHECK_EQ_INT (metrics_cache_add (c, "hb.store", l, t), 0);
    Hs__Envelope *ce = s_env_hb (s_component_hb ("hs-replicas", "r1", 10));
    CHECK_EQ_INT (metrics_cache_add (c, "hb.raft.s1", ce, t), -EBADMSG); /* wrong body */
    metrics_input_t in = {0};
    metrics_cache_input (c, t + 500 * MS, &in);
    CHECK_EQ_INT (in.n_rafts, 3);
    CHECK_EQ_INT (in.n_stores, 1);
    CHECK_EQ_INT (in.n_members, 0);
    hs_buf_t b = {0};
    metrics_render (&in, &b);
    const char *page = b.data;
    CHECK (s_check_page (page) > 0);
    CHECK (s_unique_series (page));
    static const char *want[] = {
        "# TYPE homeostat_store_member_role gauge\n",
        "homeostat_store_member_role{member=\"s1\",role=\"leader\"} 1\n",
        "homeostat_store_member_role{member=\"s1\",role=\"follower\"} 0\n",
        "homeostat_store_member_role{member=\"s2\",role=\"follower\"} 1\n",
        "homeostat_store_member_role{member=\"s2\",role=\"leader\"} 0\n",
        /* s3 was last heard 5.5 s ago: unavailable, not its stale role */
        "homeostat_store_member_role{member=\"s3\",role=\"unavailable\"} 1\n",
        "homeostat_store_member_up{member=\"s3\"} 0\n",
        "homeostat_store_member_up{member=\"s1\"} 1\n",
        "homeostat_store_member_term{member=\"s1\"} 3\n",
        "homeostat_store_member_commit_index{member=\"s2\"} 42\n",
        "homeostat_store_member_applied_index{member=\"s2\"} 41\n",
        "homeostat_store_member_snapshot_index{member=\"s1\"} 30\n",
        "# TYPE homeostat_store_member_snapshots_installed_total counter\n",
        "homeostat_store_member_snapshots_installed_total{member=\"s1\"} 2\n",
        "homeostat_store_up{member=",
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (want); i++) {
        if (!strstr (page, want[i])) fprintf (stderr, "  missing: %s", want[i]);
        CHECK (strstr (page, want[i]) != NULL);
    }
    CHECK (!strstr (page, "role=\"learner\""));
    int rc = s_promtool (page);
    CHECK (rc == 0 || rc == -1);
    hs_buf_free (&b);
    /* heard again with a role outside the list: that role's own series */
    CHECK_EQ_INT (metrics_cache_add (c, "hb.raft.s3", x, t + 600 * MS), 0);
    metrics_cache_input (c, t + 700 * MS, &in);
    metrics_render (&in, &b);
    CHECK (strstr (b.data, "homeostat_store_member_role{member=\"s3\",role=\"learner\"} 1\n"));
    CHECK (strstr (b.data, "homeostat_store_member_role{member=\"s3\",role=\"unavailable\"} 0\n"));
    hs_buf_free (&b);
    /* forgotten like the rest */
    metrics_cache_input (c, t + 70000 * MS, &in);
    CHECK_EQ_INT (in.n_rafts, 0);
    metrics_render (&in, &b);
    CHECK (!strstr (b.data, "homeostat_store_member_"));
    hs_buf_free (&b);
    hs_pb_free (l);
    hs_pb_free (f);
    hs_pb_free (x);
    hs_pb_free (ce);
    metrics_cache_destroy (&c);
}

/* Figures from the bus at their limits (review 18, finding 5): the pod's
 * sum saturates and floors negatives at 0, CPU times above INT64_MAX print
 * as the unsigned seconds they are. Under HS_SANITIZE an overflow aborts. */
static void test_extremes (void)
{
    Hs__NodeUsage *u = s_usage ("n1", 1, UINT64_MAX);
    u->cpu_usage_core_ns = UINT64_MAX;
    Hs__PodUsage *p = u->pods[0];
    p->containers[0]->memory_working_set_bytes = INT64_MAX;
    const char *more[] = {"side", "neg"};
    for (size_t i = 0; i < 2; i++) {
        Hs__ContainerUsage *c = hs_pb_new (&hs__container_usage__descriptor);
        hs_pb_set_str (&c->name, more[i]);
        c->memory_working_set_bytes = i ? -5 : INT64_MAX;
        hs_pb_push ((void ***)&p->containers, &p->n_containers, c);
    }
    const Hs__NodeUsage *usage[] = {u};
    metrics_input_t in = {.usage = usage, .n_usage = 1};
    hs_buf_t b = {0};
    metrics_render (&in, &b);
    CHECK (s_check_page (b.data) > 0);
    CHECK_CONTAINS (b.data, "pod_memory_working_set_bytes{namespace=\"default\",pod=\"busy\"} "
                            "9223372036854775807\n");
    CHECK_CONTAINS (b.data, "container_cpu_usage_seconds_total{container=\"main\",namespace="
                            "\"default\",pod=\"busy\"} 18446744073.709551615\n");
    CHECK_CONTAINS (b.data, "node_cpu_usage_seconds_total{node=\"n1\"} 18446744073.709551615\n");
    hs_buf_free (&b);
    /* a single negative container: the pod's sum is 0, not negative */
    Hs__NodeUsage *neg = s_usage ("n2", 1, 1);
    neg->pods[0]->containers[0]->memory_working_set_bytes = INT64_MIN;
    usage[0] = neg;
    metrics_render (&in, &b);
    CHECK_CONTAINS (b.data, "pod_memory_working_set_bytes{namespace=\"default\",pod=\"busy\"} 0\n");
    hs_buf_free (&b);
    hs_pb_free (neg);
    hs_pb_free (u);
}

/* A run of pod `busy` with this uid, started at started_s, whose containers are names. */
static Hs__PodUsage *s_pod_run (const char *uid, int64_t started_s, uint64_t cpu_s,
                                const char *const *names, size_t n)
{
    Hs__PodUsage *p = hs_pb_new (&hs__pod_usage__descriptor);
    hs_pb_set_str (&p->namespace_, "default");
    hs_pb_set_str (&p->name, "busy");
    hs_pb_set_str (&p->uid, uid);
    for (size_t i = 0; i < n; i++) {
        Hs__ContainerUsage *c = hs_pb_new (&hs__container_usage__descriptor);
        hs_pb_set_str (&c->name, names[i]);
        c->cpu_usage_core_ns = cpu_s * 1000000000ULL;
        c->started_at = started_s * 1000000000LL;
        hs_pb_push ((void ***)&p->containers, &p->n_containers, c);
    }
    return p;
}

/* Two runs of one pod name in one sample (review 18, finding 6): the old
 * pod in its grace period, the new one started. The store's uid wins, else
 * the later start, whatever the order of the sample's pods; the losing
 * run's containers are not mixed in. */
static void test_same_name (void)
{
    static const char *const old_cs[] = {"main", "sidecar"}, *const new_cs[] = {"main"};
    static const char *const want_old = "container_cpu_usage_seconds_total{container=\"main\","
                                        "namespace=\"default\",pod=\"busy\"} 1000\n";
    static const char *const want_new = "container_cpu_usage_seconds_total{container=\"main\","
                                        "namespace=\"default\",pod=\"busy\"} 1\n";
    static const struct {
        const char *store_uid; /* NULL: the store has no such pod */
        bool old_wins;
    } cases[] = {{"uid-new", false}, {"uid-old", true}, {NULL, false}, {"uid-other", false}};
    for (size_t c = 0; c < HS_ARRAY_LEN (cases); c++)
        for (int order = 0; order < 2; order++) {
            Hs__NodeUsage *u = s_usage ("n1", 5, 1);
            hs_pb_free (u->pods[0]);
            u->n_pods = 0;
            Hs__PodUsage *old = s_pod_run ("uid-old", 100, 1000, old_cs, 2);
            Hs__PodUsage *young = s_pod_run ("uid-new", 200, 1, new_cs, 1);
            hs_pb_push ((void ***)&u->pods, &u->n_pods, order ? young : old);
            hs_pb_push ((void ***)&u->pods, &u->n_pods, order ? old : young);
            Hs__Object *pod = s_pod ("default", "busy", "n1", "Running");
            if (cases[c].store_uid) hs_pb_set_str (&pod->pod->metadata->uid, cases[c].store_uid);
            const Hs__NodeUsage *usage[] = {u};
            const Hs__Object *pods[] = {pod};
            metrics_input_t in = {
                .usage = usage, .n_usage = 1, .pods = pods, .n_pods = cases[c].store_uid ? 1 : 0};
            hs_buf_t b = {0};
            metrics_render (&in, &b);
            CHECK (s_unique_series (b.data));
            bool old_won = strstr (b.data, want_old) != NULL;
            CHECK (old_won == cases[c].old_wins);
            CHECK (old_won || strstr (b.data, want_new));
            CHECK (old_won == (strstr (b.data, "container=\"sidecar\"") != NULL));
            hs_buf_free (&b);
            hs_pb_free (u);
            hs_pb_free (pod);
        }
}

static void s_hpa_metric (Hs__HorizontalPodAutoscaler *h, const char *container, int32_t util)
{
    Hs__MetricTarget *t = hs_pb_new (&hs__metric_target__descriptor);
    hs_pb_set_str (&t->type, "Utilization");
    t->average_utilization = hs_pb_new (&hs__int32_value__descriptor);
    t->average_utilization->value = util;
    Hs__MetricSpec *ms = hs_pb_new (&hs__metric_spec__descriptor);
    if (container) {
        hs_pb_set_str (&ms->type, "ContainerResource");
        ms->container_resource = hs_pb_new (&hs__container_resource_metric_source__descriptor);
        hs_pb_set_str (&ms->container_resource->name, "cpu");
        hs_pb_set_str (&ms->container_resource->container, container);
        ms->container_resource->target = t;
    } else {
        hs_pb_set_str (&ms->type, "Resource");
        ms->resource = hs_pb_new (&hs__resource_metric_source__descriptor);
        hs_pb_set_str (&ms->resource->name, "cpu");
        ms->resource->target = t;
    }
    hs_pb_push ((void ***)&h->spec->metrics, &h->spec->n_metrics, ms);
    Hs__MetricValueStatus *cur = hs_pb_new (&hs__metric_value_status__descriptor);
    cur->average_utilization = hs_pb_new (&hs__int32_value__descriptor);
    cur->average_utilization->value = util + 1;
    Hs__MetricStatus *st = hs_pb_new (&hs__metric_status__descriptor);
    if (container) {
        hs_pb_set_str (&st->type, "ContainerResource");
        st->container_resource = hs_pb_new (&hs__container_resource_metric_status__descriptor);
        hs_pb_set_str (&st->container_resource->name, "cpu");
        hs_pb_set_str (&st->container_resource->container, container);
        st->container_resource->current = cur;
    } else {
        hs_pb_set_str (&st->type, "Resource");
        st->resource = hs_pb_new (&hs__resource_metric_status__descriptor);
        hs_pb_set_str (&st->resource->name, "cpu");
        st->resource->current = cur;
    }
    hs_pb_push ((void ***)&h->status->current_metrics, &h->status->n_current_metrics, st);
}

/* An HPA with a Resource and a ContainerResource cpu metric, and one of
 * them twice (review 18, finding 3): each series once, told apart by the
 * container label, the exact repeat left out. */
static void test_hpa_metrics (void)
{
    Hs__Object *o = s_hpa_obj ();
    Hs__HorizontalPodAutoscaler *h = o->horizontal_pod_autoscaler;
    s_hpa_metric (h, "app", 60);
    s_hpa_metric (h, NULL, 70); /* Resource cpu Utilization again */
    /* s_hpa_obj's status has no current metric: give the Resource one first */
    Hs__MetricStatus *last = h->status->current_metrics[h->status->n_current_metrics - 1];
    memmove (h->status->current_metrics + 1, h->status->current_metrics,
             (h->status->n_current_metrics - 1) * sizeof *h->status->current_metrics);
    h->status->current_metrics[0] = last;
    const Hs__Object *hpas[] = {o};
    metrics_input_t in = {.hpas = hpas, .n_hpas = 1};
    hs_buf_t b = {0};
    metrics_render (&in, &b);
    CHECK (s_check_page (b.data) > 0);
    CHECK (s_unique_series (b.data));
    static const char *const want[] = {
        "kube_horizontalpodautoscaler_spec_target_metric{namespace=\"default\","
        "horizontalpodautoscaler=\"web\",metric_name=\"cpu\",metric_target_type=\"utilization\","
        "container=\"\"} 50\n",
        "kube_horizontalpodautoscaler_spec_target_metric{namespace=\"default\","
        "horizontalpodautoscaler=\"web\",metric_name=\"cpu\",metric_target_type=\"utilization\","
        "container=\"app\"} 60\n",
        "kube_horizontalpodautoscaler_status_target_metric{namespace=\"default\","
        "horizontalpodautoscaler=\"web\",metric_name=\"cpu\",metric_target_type=\"utilization\","
        "container=\"\"} 71\n",
        "kube_horizontalpodautoscaler_status_target_metric{namespace=\"default\","
        "horizontalpodautoscaler=\"web\",metric_name=\"cpu\",metric_target_type=\"utilization\","
        "container=\"app\"} 61\n",
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (want); i++) CHECK_CONTAINS (b.data, want[i]);
    CHECK (!strstr (b.data, "} 70\n")); /* the exact repeat: the first one written */
    CHECK (!strstr (b.data, "} 51\n"));
    int rc = s_promtool (b.data);
    CHECK (rc == 0 || rc == -1);
    hs_buf_free (&b);
    hs_pb_free (o);
}

/* Many pods: the page stays well-formed and each series once. */
static void test_many (void)
{
    enum { N = 300 };
    Hs__Object **pods = hs_calloc (N, sizeof *pods);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf (name, sizeof name, "p%d", i);
        pods[i] = s_pod (i % 2 ? "a" : "b", name, "n1", i % 3 ? "Running" : "Pending");
    }
    metrics_input_t in = {.pods = (const Hs__Object *const *)pods, .n_pods = N};
    hs_buf_t b = {0};
    metrics_render (&in, &b);
    CHECK (s_check_page (b.data) > N * 10);
    CHECK (s_unique_series (b.data));
    hs_buf_free (&b);
    for (int i = 0; i < N; i++) hs_pb_free (pods[i]);
    free (pods);
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"escaping", test_escaping},   {"page", test_page},
        {"cache", test_cache},         {"extremes", test_extremes},
        {"same_name", test_same_name}, {"hpa_metrics", test_hpa_metrics},
        {"many", test_many},           {"raft_members", test_raft_members},
    };
    return HS_TEST_RUN (tests);
}
