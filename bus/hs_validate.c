/*  hs_validate.c: defaults and validation of objects before the store
 *  writes them (see hs_validate.h). Pure: no LMDB, no sockets.
 */
#include "hs_validate.h"
#include "hs_net.h"
#include "hs_podsec.h"
#include "hs_quantity.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LABEL_MAX     63
#define SUBDOMAIN_MAX 253

#define DNS_LABEL_MSG                                                                              \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "   \
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "     \
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define DNS_SUBDOMAIN_MSG                                                                          \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define DNS1035_MSG                                                                                \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "   \
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "           \
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define LABEL_NAME_MSG                                                                             \
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "  \
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for " \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define LABEL_VALUE_MSG                                                                            \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is "                                       \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
#define QUANTITY_MSG "must be a valid quantity (e.g. \"500m\", \"2\", \"64Mi\", \"1G\")"
#define IP_MSG       "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
#define CIDR_MSG     "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
/* kube's ClientIP affinity default: 3 hours */
#define AFFINITY_TIMEOUT_DEFAULT 10800
#define AFFINITY_TIMEOUT_MAX     86400

/* ------------------------------------------------------------------ small things */

static Hs__Int32Value *s_i32 (int32_t v)
{
    Hs__Int32Value *p = hs_pb_new (&hs__int32_value__descriptor);
    p->value = v;
    return p;
}

static Hs__Int64Value *s_i64 (int64_t v)
{
    Hs__Int64Value *p = hs_pb_new (&hs__int64_value__descriptor);
    p->value = v;
    return p;
}

/* Every generated map entry has this layout (see hs_pb.c). */
typedef struct {
    ProtobufCMessage base;
    char *key;
    char *value;
} s_entry_t;

/* ------------------------------------------------------------------ defaults */

static void s_default_probe (Hs__Probe *p)
{
    if (!p) return;
    if (p->timeout_seconds == 0) p->timeout_seconds = 1;
    if (p->period_seconds == 0) p->period_seconds = 10;
    if (p->success_threshold == 0) p->success_threshold = 1;
    if (p->failure_threshold == 0) p->failure_threshold = 3;
}

static void s_default_pod_spec (Hs__PodSpec *spec)
{
    if (!spec) return;
    if (hs_empty (spec->restart_policy)) hs_pb_set_str (&spec->restart_policy, "Always");
    if (hs_empty (spec->dns_policy)) hs_pb_set_str (&spec->dns_policy, "ClusterFirst");
    if (!spec->termination_grace_period_seconds)
        spec->termination_grace_period_seconds = s_i64 (30);
    for (size_t i = 0; i < spec->n_containers; i++) {
        Hs__Container *c = spec->containers[i];
        for (size_t j = 0; j < c->n_ports; j++) {
            if (hs_empty (c->ports[j]->protocol)) hs_pb_set_str (&c->ports[j]->protocol, "TCP");
            /* Kubernetes: on the node's network a port is the node's port */
            if (spec->host_network && c->ports[j]->host_port == 0)
                c->ports[j]->host_port = c->ports[j]->container_port;
        }
        s_default_probe (c->liveness_probe);
        s_default_probe (c->readiness_probe);
        s_default_probe (c->startup_probe);
        /* Like Kubernetes: a limit without a request requests the limit. */
        Hs__ResourceRequirements *r = c->resources;
        if (r && r->limits) {
            if (!r->requests) r->requests = hs_pb_new (&hs__resource_list__descriptor);
            if (hs_empty (r->requests->cpu) && !hs_empty (r->limits->cpu))
                hs_pb_set_str (&r->requests->cpu, r->limits->cpu);
            if (hs_empty (r->requests->memory) && !hs_empty (r->limits->memory))
                hs_pb_set_str (&r->requests->memory, r->limits->memory);
        }
    }
}

static void s_default_template (Hs__PodTemplateSpec **tp)
{
    if (!*tp) *tp = hs_pb_new (&hs__pod_template_spec__descriptor);
    if (!(*tp)->metadata) (*tp)->metadata = hs_pb_new (&hs__object_meta__descriptor);
    if (!(*tp)->spec) (*tp)->spec = hs_pb_new (&hs__pod_spec__descriptor);
    s_default_pod_spec ((*tp)->spec);
}

static void s_default_job (Hs__Job *job)
{
    if (!job->spec) job->spec = hs_pb_new (&hs__job_spec__descriptor);
    Hs__JobSpec *s = job->spec;
    /* Kubernetes: completions stays unset (a work queue) when only
     * parallelism is given. */
    if (!s->completions && !s->parallelism) s->completions = s_i32 (1);
    if (!s->parallelism) s->parallelism = s_i32 (1);
    if (!s->backoff_limit) s->backoff_limit = s_i32 (6);
    if (hs_empty (s->completion_mode)) hs_pb_set_str (&s->completion_mode, "NonIndexed");
    s_default_template (&s->template_);
    bool has_selector =
        s->selector && (s->selector->n_match_labels || s->selector->n_match_expressions);
    if (!has_selector && !hs_empty (job->metadata->uid)) {
        /* Kubernetes generates a selector unique to this job and labels the
         * template with it, so two jobs never adopt each other's pods. */
        if (!s->selector) s->selector = hs_pb_new (&hs__label_selector__descriptor);
        const char *keys[2] = {"controller-uid", "job-name"};
        const char *vals[2] = {job->metadata->uid, job->metadata->name};
        for (int i = 0; i < 2; i++) {
            hs_pb_map_set ((void ***)&s->selector->match_labels, &s->selector->n_match_labels,
                           &hs__label_selector__match_labels_entry__descriptor, keys[i], vals[i]);
            Hs__ObjectMeta *tm = s->template_->metadata;
            hs_pb_map_set ((void ***)&tm->labels, &tm->n_labels,
                           &hs__object_meta__labels_entry__descriptor, keys[i], vals[i]);
        }
    }
}

/* clusterIP/clusterIPs, podCIDR/podCIDRs: the single value and its
 * one-element list twin fill each other in, as Kubernetes defaults them. */
static void s_default_pair (char **one, char ***list, size_t *n)
{
    if (hs_empty (*one) && *n > 0 && !hs_empty ((*list)[0]))
        hs_pb_set_str (one, (*list)[0]);
    else if (!hs_empty (*one) && *n == 0)
        hs_pb_push ((void ***)list, n, hs_strdup (*one));
}

static void s_default_service (Hs__Service *svc)
{
    if (!svc->spec) svc->spec = hs_pb_new (&hs__service_spec__descriptor);
    Hs__ServiceSpec *s = svc->spec;
    if (hs_empty (s->type)) hs_pb_set_str (&s->type, "ClusterIP");
    if (hs_empty (s->session_affinity)) hs_pb_set_str (&s->session_affinity, "None");
    if (hs_streq (s->session_affinity, "ClientIP")) {
        if (!s->session_affinity_config)
            s->session_affinity_config = hs_pb_new (&hs__session_affinity_config__descriptor);
        Hs__SessionAffinityConfig *ac = s->session_affinity_config;
        if (!ac->client_ip) ac->client_ip = hs_pb_new (&hs__client_ipconfig__descriptor);
        if (!ac->client_ip->timeout_seconds)
            ac->client_ip->timeout_seconds = s_i32 (AFFINITY_TIMEOUT_DEFAULT);
    }
    if (hs_empty (s->internal_traffic_policy))
        hs_pb_set_str (&s->internal_traffic_policy, "Cluster");
    s_default_pair (&s->cluster_ip, &s->cluster_ips, &s->n_cluster_ips);
    for (size_t i = 0; i < s->n_ports; i++) {
        Hs__ServicePort *p = s->ports[i];
        if (hs_empty (p->protocol)) hs_pb_set_str (&p->protocol, "TCP");
        /* targetPort defaults to port (only a valid one: a bad port is
         * reported once, as itself) */
        if (hs_empty (p->target_port) && p->port >= 1 && p->port <= 65535)
            hs_pb_take_str (&p->target_port, hs_sprintf ("%d", p->port));
    }
}

/* ------------------------------------------------------------------ ConfigMap, Secret */

#define CONFIG_KEY_MSG                                                                             \
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "           \
    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
#define MAX_DATA_SIZE (1 << 20) /* kube's MaxSecretSize, for ConfigMaps too */
#define IMMUTABLE_MSG "field is immutable when `immutable` is set"

/* Secret: stringData is write-only: merged into data (stringData wins), as
 * the apiserver does on every write, and never stored; type Opaque. */
static void s_default_secret (Hs__Secret *sec)
{
    if (hs_empty (sec->type)) hs_pb_set_str (&sec->type, "Opaque");
    for (size_t i = 0; i < sec->n_string_data; i++) {
        Hs__Secret__StringDataEntry *sd = sec->string_data[i];
        Hs__Secret__DataEntry *d = NULL;
        for (size_t j = 0; j < sec->n_data && !d; j++)
            if (hs_streq (sec->data[j]->key, sd->key)) d = sec->data[j];
        if (!d) {
            d = hs_pb_new (&hs__secret__data_entry__descriptor);
            hs_pb_set_str (&d->key, sd->key);
            hs_pb_push ((void ***)&sec->data, &sec->n_data, d);
        }
        /* the string's bytes become the value: take them, no copy left behind */
        hs_pb_release (d->value.data);
        d->value.len = strlen (hs_s (sd->value));
        d->value.data = d->value.len ? (uint8_t *)TAKE_PTR (sd->value) : NULL;
        if (!sd->value) sd->value = (char *)protobuf_c_empty_string;
    }
    for (size_t i = 0; i < sec->n_string_data; i++) hs_pb_free (sec->string_data[i]);
    hs_pb_release (sec->string_data);
    sec->string_data = NULL;
    sec->n_string_data = 0;
}

/* ------------------------------------------------------------------ HorizontalPodAutoscaler */

#define HPA_DEFAULT_CPU_UTILIZATION 80 /* kube's autoscaling.DefaultCPUUtilization */

static Hs__HPAScalingPolicy *s_hpa_policy (const char *type, int32_t value, int32_t period)
{
    Hs__HPAScalingPolicy *p = hs_pb_new (&hs__hpascaling_policy__descriptor);
    hs_pb_set_str (&p->type, type);
    p->value = value;
    p->period_seconds = period;
    return p;
}

/* kube's GenerateHPAScale{Up,Down}Rules: what the user left unset of one
 * direction's rules. Scale down keeps an unset stabilization window unset,
 * as kube does: the controller's --downscale-stabilization (300 s) applies
 * to it. */
static void s_default_hpa_rules (Hs__HPAScalingRules **rp, bool up)
{
    if (!*rp) *rp = hs_pb_new (&hs__hpascaling_rules__descriptor);
    Hs__HPAScalingRules *r = *rp;
    if (up && !r->stabilization_window_seconds) r->stabilization_window_seconds = s_i32 (0);
    if (hs_empty (r->select_policy)) hs_pb_set_str (&r->select_policy, "Max");
    if (r->n_policies > 0) return;
    if (up) hs_pb_push ((void ***)&r->policies, &r->n_policies, s_hpa_policy ("Pods", 4, 15));
    hs_pb_push ((void ***)&r->policies, &r->n_policies, s_hpa_policy ("Percent", 100, 15));
}

/* kube's autoscaling/v2 SetDefaults_HorizontalPodAutoscaler: minReplicas
 * 1; no metrics: cpu at 80% utilization; a behavior given is completed, an
 * absent one stays absent (the controller's defaults apply). */
static void s_default_hpa (Hs__HorizontalPodAutoscaler *h)
{
    if (!h->spec) h->spec = hs_pb_new (&hs__horizontal_pod_autoscaler_spec__descriptor);
    Hs__HorizontalPodAutoscalerSpec *s = h->spec;
    if (!s->min_replicas) s->min_replicas = s_i32 (1);
    if (s->n_metrics == 0) {
        Hs__MetricSpec *m = hs_pb_new (&hs__metric_spec__descriptor);
        hs_pb_set_str (&m->type, "Resource");
        m->resource = hs_pb_new (&hs__resource_metric_source__descriptor);
        hs_pb_set_str (&m->resource->name, "cpu");
        m->resource->target = hs_pb_new (&hs__metric_target__descriptor);
        hs_pb_set_str (&m->resource->target->type, "Utilization");
        m->resource->target->average_utilization = s_i32 (HPA_DEFAULT_CPU_UTILIZATION);
        hs_pb_push ((void ***)&s->metrics, &s->n_metrics, m);
    }
    if (s->behavior) {
        s_default_hpa_rules (&s->behavior->scale_up, true);
        s_default_hpa_rules (&s->behavior->scale_down, false);
    }
}

void hs_obj_defaults (Hs__Object *o, int64_t now_ns)
{
    hs_kind_t kind = hs_obj_kind (o);
    const hs_kind_info_t *info = hs_kind_info (kind);
    ProtobufCMessage *body = hs_obj_body (o);
    if (!info || !body) return;
    Hs__ObjectMeta *m = hs_obj_meta (o);
    if (!m) {
        /* Every kind's field 1 is `ObjectMeta metadata`. */
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field (info->descriptor, 1);
        m = hs_pb_new (&hs__object_meta__descriptor);
        *(Hs__ObjectMeta **)((char *)body + f->offset) = m;
    }
    if (info->namespaced && hs_empty (m->namespace_)) hs_pb_set_str (&m->namespace_, "default");
    if (!info->namespaced) hs_pb_set_str (&m->namespace_, NULL);

    switch (kind) {
    case HS_KIND_POD:
        if (!o->pod->spec) o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
        s_default_pod_spec (o->pod->spec);
        break;
    case HS_KIND_REPLICASET: {
        Hs__ReplicaSet *rs = o->replica_set;
        if (!rs->spec) rs->spec = hs_pb_new (&hs__replica_set_spec__descriptor);
        if (!rs->spec->replicas) rs->spec->replicas = s_i32 (1);
        s_default_template (&rs->spec->template_);
        break;
    }
    case HS_KIND_DEPLOYMENT: {
        Hs__DeploymentSpec *s = o->deployment->spec;
        if (!s) s = o->deployment->spec = hs_pb_new (&hs__deployment_spec__descriptor);
        if (!s->replicas) s->replicas = s_i32 (1);
        if (!s->strategy) s->strategy = hs_pb_new (&hs__deployment_strategy__descriptor);
        if (hs_empty (s->strategy->type)) hs_pb_set_str (&s->strategy->type, "RollingUpdate");
        if (hs_streq (s->strategy->type, "RollingUpdate")) {
            Hs__RollingUpdateDeployment *ru = s->strategy->rolling_update;
            if (!ru)
                ru = s->strategy->rolling_update =
                    hs_pb_new (&hs__rolling_update_deployment__descriptor);
            if (hs_empty (ru->max_surge)) hs_pb_set_str (&ru->max_surge, "25%");
            if (hs_empty (ru->max_unavailable)) hs_pb_set_str (&ru->max_unavailable, "25%");
        }
        if (!s->revision_history_limit) s->revision_history_limit = s_i32 (10);
        if (!s->progress_deadline_seconds) s->progress_deadline_seconds = s_i32 (600);
        s_default_template (&s->template_);
        break;
    }
    case HS_KIND_JOB: s_default_job (o->job); break;
    case HS_KIND_NODE:
        if (!o->node->spec) o->node->spec = hs_pb_new (&hs__node_spec__descriptor);
        s_default_pair (&o->node->spec->pod_cidr, &o->node->spec->pod_cidrs,
                        &o->node->spec->n_pod_cidrs);
        break;
    case HS_KIND_SERVICE: s_default_service (o->service); break;
    case HS_KIND_SECRET: s_default_secret (o->secret); break;
    case HS_KIND_HPA: s_default_hpa (o->horizontal_pod_autoscaler); break;
    case HS_KIND_ENDPOINTS:
        for (size_t i = 0; i < o->endpoints->n_subsets; i++) {
            Hs__EndpointSubset *ss = o->endpoints->subsets[i];
            for (size_t j = 0; j < ss->n_ports; j++)
                if (hs_empty (ss->ports[j]->protocol))
                    hs_pb_set_str (&ss->ports[j]->protocol, "TCP");
        }
        break;
    case HS_KIND_EVENT: {
        Hs__Event *e = o->event;
        if (e->count == 0) e->count = 1;
        if (e->first_timestamp == 0)
            e->first_timestamp = e->last_timestamp ? e->last_timestamp : now_ns;
        if (e->last_timestamp == 0) e->last_timestamp = e->first_timestamp;
        if (hs_empty (e->type)) hs_pb_set_str (&e->type, "Normal");
        break;
    }
    default: break;
    }
}

/* ------------------------------------------------------------------ normalize */

typedef struct {
    s_entry_t *e;
    size_t idx;
} s_sorted_t;

static int s_sorted_cmp (const void *a, const void *b)
{
    const s_sorted_t *x = a, *y = b;
    int c = strcmp (x->e->key, y->e->key);
    if (c) return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorts by key; of duplicate keys the last one sent wins (protobuf's rule). */
static void s_map_normalize (void **entries, size_t *n)
{
    if (*n < 2) return;
    s_sorted_t *v = hs_malloc (*n * sizeof *v);
    for (size_t i = 0; i < *n; i++) v[i] = (s_sorted_t){entries[i], i};
    qsort (v, *n, sizeof *v, s_sorted_cmp);
    size_t out = 0;
    for (size_t i = 0; i < *n; i++) {
        if (i + 1 < *n && strcmp (v[i].e->key, v[i + 1].e->key) == 0) {
            hs_pb_free (v[i].e);
            continue;
        }
        entries[out++] = v[i].e;
    }
    *n = out;
    free (v);
}

static void s_norm_meta (Hs__ObjectMeta *m)
{
    if (!m) return;
    s_map_normalize ((void **)m->labels, &m->n_labels);
    s_map_normalize ((void **)m->annotations, &m->n_annotations);
}

static void s_norm_selector (Hs__LabelSelector *s)
{
    if (s) s_map_normalize ((void **)s->match_labels, &s->n_match_labels);
}

static void s_norm_template (Hs__PodTemplateSpec *t)
{
    if (!t) return;
    s_norm_meta (t->metadata);
    if (t->spec) s_map_normalize ((void **)t->spec->node_selector, &t->spec->n_node_selector);
}

void hs_obj_normalize (Hs__Object *o)
{
    s_norm_meta (hs_obj_meta (o));
    switch (hs_obj_kind (o)) {
    case HS_KIND_POD:
        if (o->pod->spec)
            s_map_normalize ((void **)o->pod->spec->node_selector, &o->pod->spec->n_node_selector);
        break;
    case HS_KIND_REPLICASET:
        if (o->replica_set->spec) {
            s_norm_selector (o->replica_set->spec->selector);
            s_norm_template (o->replica_set->spec->template_);
        }
        break;
    case HS_KIND_DEPLOYMENT:
        if (o->deployment->spec) {
            s_norm_selector (o->deployment->spec->selector);
            s_norm_template (o->deployment->spec->template_);
        }
        break;
    case HS_KIND_JOB:
        if (o->job->spec) {
            s_norm_selector (o->job->spec->selector);
            s_norm_template (o->job->spec->template_);
        }
        break;
    case HS_KIND_SERVICE:
        if (o->service->spec)
            s_map_normalize ((void **)o->service->spec->selector, &o->service->spec->n_selector);
        break;
    case HS_KIND_CONFIGMAP:
        s_map_normalize ((void **)o->config_map->data, &o->config_map->n_data);
        s_map_normalize ((void **)o->config_map->binary_data, &o->config_map->n_binary_data);
        break;
    case HS_KIND_SECRET:
        s_map_normalize ((void **)o->secret->data, &o->secret->n_data);
        s_map_normalize ((void **)o->secret->string_data, &o->secret->n_string_data);
        break;
    default: break;
    }
}

/* ------------------------------------------------------------------ error list */

typedef struct {
    hs_buf_t buf;
    int n;
} s_errs_t;

static void s_err (s_errs_t *e, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void s_err (s_errs_t *e, const char *fmt, ...)
{
    if (e->n >= 20) return; /* enough to fix the first ones */
    if (e->n) hs_buf_puts (&e->buf, ", ");
    va_list ap;
    va_start (ap, fmt);
    char *s = NULL;
    if (vasprintf (&s, fmt, ap) < 0) abort ();
    va_end (ap);
    hs_buf_puts (&e->buf, s);
    free (s);
    e->n++;
}

/* Go's %q, shortened: "text" with quotes and backslashes escaped. */
static const char *s_q (const char *s, char *buf, size_t len)
{
    size_t o = 0;
    buf[o++] = '"';
    /* Each turn keeps room for the longest escape (4), "...", the closing
     * quote and the NUL: 9 bytes. */
    const char *p = hs_s (s);
    for (; *p && o + 9 <= len; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf (buf + o, len - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    if (*p) {
        buf[o++] = '.';
        buf[o++] = '.';
        buf[o++] = '.';
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

#define Q(s) s_q ((s), (char[160]){0}, 160)

/* Appends s at *at in buf (len bytes), truncating as snprintf would. */
static void s_put_str (char *buf, size_t len, size_t *at, const char *s)
{
    size_t n = strlen (s);
    if (*at + 1 >= len) return;
    if (n > len - 1 - *at) n = len - 1 - *at;
    memcpy (buf + *at, s, n);
    *at += n;
    buf[*at] = '\0';
}

/* The field path "<path>.<field>[<idx>]<rest>" into buf ([<idx>] only for
 * idx >= 0; long paths are cut short, never overflow). The
 * store builds these for every field it checks, in case it must name one;
 * vsnprintf did it at 6% of the store's CPU per apply. */
static void s_path (char *buf, size_t len, const char *path, const char *field, long idx,
                    const char *rest)
{
    size_t at = 0;
    buf[0] = '\0';
    s_put_str (buf, len, &at, path);
    s_put_str (buf, len, &at, ".");
    s_put_str (buf, len, &at, field);
    if (idx >= 0) {
        char num[24];
        char *q = num + sizeof num;
        *--q = '\0';
        *--q = ']';
        unsigned long v = (unsigned long)idx;
        do *--q = (char)('0' + v % 10);
        while ((v /= 10) != 0);
        *--q = '[';
        s_put_str (buf, len, &at, q);
    }
    s_put_str (buf, len, &at, rest);
}

/* ------------------------------------------------------------------ names */

static bool s_alnum_lower (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool s_alnum (char c)
{
    return s_alnum_lower (c) || (c >= 'A' && c <= 'Z');
}

static bool s_is_dns_label (const char *s)
{
    size_t n = strlen (s);
    if (n == 0 || !s_alnum_lower (s[0]) || !s_alnum_lower (s[n - 1])) return false;
    for (size_t i = 0; i < n; i++)
        if (!s_alnum_lower (s[i]) && s[i] != '-') return false;
    return true;
}

static bool s_is_dns_subdomain (const char *s)
{
    /* Each dot-separated part is a DNS label. */
    const char *p = s;
    char part[SUBDOMAIN_MAX + 1];
    if (strlen (s) > SUBDOMAIN_MAX) return false;
    for (;;) {
        const char *dot = strchr (p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen (p);
        memcpy (part, p, len);
        part[len] = '\0';
        if (!s_is_dns_label (part)) return false;
        if (!dot) return true;
        p = dot + 1;
    }
}

static void s_check_label (s_errs_t *e, const char *path, const char *v)
{
    if (hs_empty (v)) {
        s_err (e, "%s: Required value", path);
    } else if (strlen (v) > LABEL_MAX) {
        s_err (e, "%s: Invalid value: %s: must be no more than 63 characters", path, Q (v));
    } else if (!s_is_dns_label (v)) {
        s_err (e, "%s: Invalid value: %s: " DNS_LABEL_MSG, path, Q (v));
    }
}

static void s_check_subdomain (s_errs_t *e, const char *path, const char *v)
{
    if (hs_empty (v)) {
        s_err (e, "%s: Required value", path);
    } else if (strlen (v) > SUBDOMAIN_MAX) {
        s_err (e, "%s: Invalid value: %s: must be no more than 253 characters", path, Q (v));
    } else if (!s_is_dns_subdomain (v)) {
        s_err (e, "%s: Invalid value: %s: " DNS_SUBDOMAIN_MSG, path, Q (v));
    }
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool s_is_label_word (const char *s, size_t n)
{
    if (n == 0 || !s_alnum (s[0]) || !s_alnum (s[n - 1])) return false;
    for (size_t i = 0; i < n; i++)
        if (!s_alnum (s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return false;
    return true;
}

/* A qualified name: [prefix/]name, prefix a DNS subdomain. */
static void s_check_qualified (s_errs_t *e, const char *path, const char *key)
{
    const char *slash = strchr (key, '/');
    const char *name = slash ? slash + 1 : key;
    if (slash) {
        char prefix[SUBDOMAIN_MAX + 1];
        size_t plen = (size_t)(slash - key);
        if (plen == 0) {
            s_err (e, "%s: Invalid value: %s: prefix part must be non-empty", path, Q (key));
            return;
        }
        if (plen > SUBDOMAIN_MAX ||
            (memcpy (prefix, key, plen), prefix[plen] = '\0', !s_is_dns_subdomain (prefix))) {
            s_err (e, "%s: Invalid value: %s: prefix part " DNS_SUBDOMAIN_MSG, path, Q (key));
            return;
        }
    }
    size_t n = strlen (name);
    if (n == 0)
        s_err (e, "%s: Invalid value: %s: name part must be non-empty", path, Q (key));
    else if (n > LABEL_MAX)
        s_err (e, "%s: Invalid value: %s: name part must be no more than 63 characters", path,
               Q (key));
    else if (!s_is_label_word (name, n))
        s_err (e, "%s: Invalid value: %s: " LABEL_NAME_MSG, path, Q (key));
}

static void s_check_labels (s_errs_t *e, const char *path, void *const *entries, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const s_entry_t *l = entries[i];
        s_check_qualified (e, path, l->key);
        size_t vn = strlen (l->value);
        if (vn > LABEL_MAX)
            s_err (e, "%s: Invalid value: %s: must be no more than 63 characters", path,
                   Q (l->value));
        else if (vn && !s_is_label_word (l->value, vn))
            s_err (e, "%s: Invalid value: %s: " LABEL_VALUE_MSG, path, Q (l->value));
    }
}

/* A Service's name, as Kubernetes checks it: a DNS-1035 label, because it
 * becomes one label of a DNS name (hs-dns), of nftables chain names
 * (hs-proxy) and, upper-cased, of environment variables (a '.' would make
 * "a.b" and "a-b" one variable). */
static void s_check_dns1035 (s_errs_t *e, const char *path, const char *v)
{
    size_t n = strlen (v);
    bool ok = n >= 1 && n <= LABEL_MAX && v[0] >= 'a' && v[0] <= 'z' &&
              ((v[n - 1] >= 'a' && v[n - 1] <= 'z') || (v[n - 1] >= '0' && v[n - 1] <= '9'));
    for (size_t i = 0; ok && i < n; i++)
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-';
    if (n > LABEL_MAX)
        s_err (e, "%s: Invalid value: %s: must be no more than 63 characters", path, Q (v));
    else if (!ok)
        s_err (e, "%s: Invalid value: %s: " DNS1035_MSG, path, Q (v));
}

static void s_check_meta (s_errs_t *e, const hs_kind_info_t *info, const Hs__ObjectMeta *m)
{
    if (hs_empty (m->name))
        s_err (e, "metadata.name: Required value: name or generateName is required");
    else if (info->kind == HS_KIND_SERVICE)
        s_check_dns1035 (e, "metadata.name", m->name);
    else
        s_check_subdomain (e, "metadata.name", m->name);
    if (info->namespaced) s_check_label (e, "metadata.namespace", m->namespace_);
    s_check_labels (e, "metadata.labels", (void *const *)m->labels, m->n_labels);
    size_t total = 0;
    for (size_t i = 0; i < m->n_annotations; i++) {
        s_check_qualified (e, "metadata.annotations", m->annotations[i]->key);
        total += strlen (m->annotations[i]->key) + strlen (m->annotations[i]->value);
    }
    if (total > 256 * 1024)
        s_err (e, "metadata.annotations: Too long: must have at most 262144 bytes");
    for (size_t i = 0; i < m->n_owner_references; i++) {
        const Hs__OwnerReference *r = m->owner_references[i];
        if (hs_empty (r->kind)) s_err (e, "metadata.ownerReferences[%zu].kind: Required value", i);
        if (hs_empty (r->name)) s_err (e, "metadata.ownerReferences[%zu].name: Required value", i);
        if (hs_empty (r->uid))
            s_err (e,
                   "metadata.ownerReferences[%zu].uid: Invalid value: \"\": uid must not be "
                   "empty",
                   i);
    }
}

/* ------------------------------------------------------------------ pods */

static void s_check_quantity (s_errs_t *e, const char *path, const char *v, int which, int64_t *ret)
{
    *ret = -1;
    if (hs_empty (v)) return;
    int r = which == 0   ? hs_quantity_cpu_milli (v, ret)
            : which == 1 ? hs_quantity_bytes (v, ret)
                         : hs_quantity_count (v, ret);
    if (r == -ERANGE)
        s_err (e, "%s: Invalid value: %s: quantity is too large", path, Q (v));
    else if (r < 0)
        s_err (e, "%s: Invalid value: %s: " QUANTITY_MSG, path, Q (v));
    if (r < 0) *ret = -1;
}

static void s_check_resources (s_errs_t *e, const char *path, const Hs__ResourceRequirements *r)
{
    if (!r) return;
    char p[300];
    int64_t lim[2] = {-1, -1}, req[2] = {-1, -1};
    static const char *names[2] = {"cpu", "memory"};
    if (r->limits) {
        s_path (p, sizeof p, path, "limits.cpu", -1, "");
        s_check_quantity (e, p, r->limits->cpu, 0, &lim[0]);
        s_path (p, sizeof p, path, "limits.memory", -1, "");
        s_check_quantity (e, p, r->limits->memory, 1, &lim[1]);
    }
    if (r->requests) {
        s_path (p, sizeof p, path, "requests.cpu", -1, "");
        s_check_quantity (e, p, r->requests->cpu, 0, &req[0]);
        s_path (p, sizeof p, path, "requests.memory", -1, "");
        s_check_quantity (e, p, r->requests->memory, 1, &req[1]);
    }
    for (int i = 0; i < 2; i++) {
        if (lim[i] < 0 || req[i] < 0 || req[i] <= lim[i]) continue;
        const char *rv = i == 0 ? r->requests->cpu : r->requests->memory;
        const char *lv = i == 0 ? r->limits->cpu : r->limits->memory;
        s_err (e, "%s.requests: Invalid value: %s: must be less than or equal to %s limit of %s",
               path, Q (rv), names[i], lv);
    }
}

static bool s_port_ok (const char *port)
{
    int64_t n;
    if (hs_parse_i64 (port, &n) == 0) return n >= 1 && n <= 65535;
    /* A named port: an IANA service name. */
    size_t len = strlen (port);
    bool letter = false;
    if (len == 0 || len > 15) return false;
    for (size_t i = 0; i < len; i++) {
        if (!s_alnum_lower (port[i]) && port[i] != '-') return false;
        if (port[i] >= 'a' && port[i] <= 'z') letter = true;
    }
    return letter && port[0] != '-' && port[len - 1] != '-';
}

static void s_check_probe (s_errs_t *e, const char *path, const Hs__Probe *p, bool liveness_like)
{
    if (!p) return;
    int handlers = (p->exec != NULL) + (p->http_get != NULL) + (p->tcp_socket != NULL);
    if (handlers == 0)
        s_err (e, "%s: Required value: must specify a handler type", path);
    else if (handlers > 1)
        s_err (e, "%s: Forbidden: may not specify more than 1 handler type", path);
    if (p->exec && p->exec->n_command == 0) s_err (e, "%s.exec.command: Required value", path);
    if (p->http_get) {
        if (hs_empty (p->http_get->port))
            s_err (e, "%s.httpGet.port: Required value", path);
        else if (!s_port_ok (p->http_get->port))
            s_err (e,
                   "%s.httpGet.port: Invalid value: %s: must be between 1 and 65535, inclusive, "
                   "or a port name",
                   path, Q (p->http_get->port));
        if (!hs_empty (p->http_get->scheme) && !hs_streq (p->http_get->scheme, "HTTP") &&
            !hs_streq (p->http_get->scheme, "HTTPS"))
            s_err (e,
                   "%s.httpGet.scheme: Unsupported value: %s: supported values: \"HTTP\", "
                   "\"HTTPS\"",
                   path, Q (p->http_get->scheme));
    }
    if (p->tcp_socket) {
        if (hs_empty (p->tcp_socket->port))
            s_err (e, "%s.tcpSocket.port: Required value", path);
        else if (!s_port_ok (p->tcp_socket->port))
            s_err (e,
                   "%s.tcpSocket.port: Invalid value: %s: must be between 1 and 65535, "
                   "inclusive, or a port name",
                   path, Q (p->tcp_socket->port));
    }
    struct {
        const char *name;
        int32_t v, min;
    } f[] = {{"initialDelaySeconds", p->initial_delay_seconds, 0},
             {"timeoutSeconds", p->timeout_seconds, 1},
             {"periodSeconds", p->period_seconds, 1},
             {"successThreshold", p->success_threshold, 1},
             {"failureThreshold", p->failure_threshold, 1}};
    for (size_t i = 0; i < HS_ARRAY_LEN (f); i++)
        if (f[i].v < f[i].min)
            s_err (e, "%s.%s: Invalid value: %d: must be greater than or equal to %d", path,
                   f[i].name, f[i].v, f[i].min);
    if (liveness_like && p->success_threshold != 1)
        s_err (e, "%s.successThreshold: Invalid value: %d: must be 1", path, p->success_threshold);
}

static void s_check_port_num (s_errs_t *e, const char *path, int32_t port, bool required)
{
    if (port == 0) {
        if (required) s_err (e, "%s: Required value", path);
    } else if (port < 1 || port > 65535) {
        s_err (e, "%s: Invalid value: %d: must be between 1 and 65535, inclusive", path, port);
    }
}

/* ------------------------------------------------------------------ env and volumes
 *
 * What a container takes from ConfigMaps, Secrets and its pod (issue 16):
 * env[].valueFrom, envFrom, volumes and volumeMounts, in kube's words. */

static bool s_env_name_ok (const char *s)
{
    if (hs_empty (s) || (s[0] >= '0' && s[0] <= '9')) return false;
    for (const char *p = s; *p; p++)
        if (!s_alnum (*p) && *p != '_' && *p != '-' && *p != '.') return false;
    return true;
}

#define ENV_NAME_MSG                                                                               \
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "  \
    "or '.', and must not start with a digit"

static bool s_field_path_ok (const char *f)
{
    static const char *const ok[] = {"metadata.name", "metadata.namespace",      "metadata.uid",
                                     "spec.nodeName", "spec.serviceAccountName", "status.podIP",
                                     "status.hostIP"};
    for (size_t i = 0; i < HS_ARRAY_LEN (ok); i++)
        if (hs_streq (f, ok[i])) return true;
    size_t len = strlen (hs_s (f));
    bool sub =
        (hs_startswith (f, "metadata.labels[") || hs_startswith (f, "metadata.annotations[")) &&
        len > 0 && f[len - 1] == ']';
    return sub;
}

static void s_check_key_ref (s_errs_t *e, const char *path, const char *name, const char *key)
{
    if (hs_empty (name)) s_err (e, "%s.name: Required value", path);
    if (hs_empty (key)) s_err (e, "%s.key: Required value", path);
}

static void s_check_env (s_errs_t *e, const char *path, const Hs__Container *c)
{
    char p[320];
    for (size_t i = 0; i < c->n_env; i++) {
        const Hs__EnvVar *v = c->env[i];
        s_path (p, sizeof p, path, "env", (long)i, "");
        if (!hs_empty (v->name) && !s_env_name_ok (v->name))
            s_err (e, "%s.name: Invalid value: %s: " ENV_NAME_MSG, p, Q (v->name));
        const Hs__EnvVarSource *f = v->value_from;
        if (!f) continue;
        int n =
            (f->config_map_key_ref != NULL) + (f->secret_key_ref != NULL) + (f->field_ref != NULL);
        if (n == 0)
            s_err (e,
                   "%s.valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, "
                   "`configMapKeyRef` or `secretKeyRef`",
                   p);
        else if (n > 1)
            s_err (e,
                   "%s.valueFrom: Invalid value: \"\": may not have more than one field "
                   "specified at a time",
                   p);
        if (!hs_empty (v->value))
            s_err (e,
                   "%s.valueFrom: Invalid value: \"\": may not be specified when `value` is "
                   "not empty",
                   p);
        char q[360];
        if (f->config_map_key_ref) {
            snprintf (q, sizeof q, "%s.valueFrom.configMapKeyRef", p);
            s_check_key_ref (e, q, f->config_map_key_ref->name, f->config_map_key_ref->key);
        }
        if (f->secret_key_ref) {
            snprintf (q, sizeof q, "%s.valueFrom.secretKeyRef", p);
            s_check_key_ref (e, q, f->secret_key_ref->name, f->secret_key_ref->key);
        }
        if (f->field_ref && !s_field_path_ok (f->field_ref->field_path))
            s_err (e,
                   "%s.valueFrom.fieldRef.fieldPath: Unsupported value: %s: supported values: "
                   "\"metadata.name\", \"metadata.namespace\", \"metadata.uid\", "
                   "\"metadata.labels['<KEY>']\", \"metadata.annotations['<KEY>']\", "
                   "\"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", "
                   "\"status.podIP\"",
                   p, Q (f->field_ref->field_path));
    }
    for (size_t i = 0; i < c->n_env_from; i++) {
        const Hs__EnvFromSource *f = c->env_from[i];
        s_path (p, sizeof p, path, "envFrom", (long)i, "");
        int n = (f->config_map_ref != NULL) + (f->secret_ref != NULL);
        if (n != 1)
            s_err (e, "%s: Invalid value: \"\": %s", p,
                   n ? "may not have more than one field specified at a time"
                     : "must specify one of: `configMapRef` or `secretRef`");
        if (f->config_map_ref && hs_empty (f->config_map_ref->name))
            s_err (e, "%s.configMapRef.name: Required value", p);
        if (f->secret_ref && hs_empty (f->secret_ref->name))
            s_err (e, "%s.secretRef.name: Required value", p);
        if (!hs_empty (f->prefix) && !s_env_name_ok (f->prefix))
            s_err (e, "%s.prefix: Invalid value: %s: " ENV_NAME_MSG, p, Q (f->prefix));
    }
}

/* A relative path without ".." components (items[].path, subPath). */
static bool s_rel_path_ok (const char *s)
{
    if (hs_empty (s) || s[0] == '/') return false;
    for (const char *p = s;;) {
        const char *end = strchrnul (p, '/');
        if (end - p == 2 && p[0] == '.' && p[1] == '.') return false;
        if (!*end) return true;
        p = end + 1;
    }
}

static void s_check_items (s_errs_t *e, const char *path, Hs__KeyToPath *const *items, size_t n,
                           const Hs__Int32Value *default_mode)
{
    if (default_mode && (default_mode->value < 0 || default_mode->value > 0777))
        s_err (e,
               "%s.defaultMode: Invalid value: %d: must be a number between 0 and 0777 "
               "(octal), both inclusive",
               path, default_mode->value);
    for (size_t i = 0; i < n; i++) {
        char p[360];
        snprintf (p, sizeof p, "%s.items[%zu]", path, i);
        if (hs_empty (items[i]->key)) s_err (e, "%s.key: Required value", p);
        if (hs_empty (items[i]->path))
            s_err (e, "%s.path: Required value", p);
        else if (!s_rel_path_ok (items[i]->path) || hs_startswith (items[i]->path, ".."))
            s_err (e,
                   "%s.path: Invalid value: %s: must be a relative path without '..' and may "
                   "not start with '..'",
                   p, Q (items[i]->path));
        if (items[i]->mode && (items[i]->mode->value < 0 || items[i]->mode->value > 0777))
            s_err (e,
                   "%s.mode: Invalid value: %d: must be a number between 0 and 0777 (octal), "
                   "both inclusive",
                   p, items[i]->mode->value);
    }
}

static void s_check_volume (s_errs_t *e, const char *p, const Hs__Volume *v)
{
    char q[360];
    int n = (v->config_map != NULL) + (v->secret != NULL) + (v->empty_dir != NULL) +
            (v->host_path != NULL);
    if (n == 0) s_err (e, "%s: Required value: must specify a volume type", p);
    if (n > 1) s_err (e, "%s: Forbidden: may not specify more than 1 volume type", p);
    if (v->config_map) {
        snprintf (q, sizeof q, "%s.configMap", p);
        if (hs_empty (v->config_map->name)) s_err (e, "%s.name: Required value", q);
        s_check_items (e, q, v->config_map->items, v->config_map->n_items,
                       v->config_map->default_mode);
    }
    if (v->secret) {
        snprintf (q, sizeof q, "%s.secret", p);
        if (hs_empty (v->secret->secret_name)) s_err (e, "%s.secretName: Required value", q);
        s_check_items (e, q, v->secret->items, v->secret->n_items, v->secret->default_mode);
    }
    if (v->empty_dir) {
        const char *m = v->empty_dir->medium;
        if (!hs_empty (m) && !hs_streq (m, "Memory"))
            s_err (e,
                   "%s.emptyDir.medium: Unsupported value: %s: supported values: \"\", "
                   "\"Memory\"",
                   p, Q (m));
        int64_t bytes;
        if (!hs_empty (v->empty_dir->size_limit) &&
            hs_quantity_bytes (v->empty_dir->size_limit, &bytes) < 0)
            s_err (e, "%s.emptyDir.sizeLimit: Invalid value: %s: " QUANTITY_MSG, p,
                   Q (v->empty_dir->size_limit));
    }
    if (v->host_path) {
        static const char *const types[] = {"",           "Directory",    "DirectoryOrCreate",
                                            "File",       "FileOrCreate", "Socket",
                                            "CharDevice", "BlockDevice"};
        bool ok = false;
        for (size_t i = 0; i < HS_ARRAY_LEN (types); i++)
            ok |= hs_streq (v->host_path->type, types[i]);
        if (hs_empty (v->host_path->path))
            s_err (e, "%s.hostPath.path: Required value", p);
        else if (v->host_path->path[0] != '/')
            s_err (e, "%s.hostPath.path: Invalid value: %s: must be an absolute path", p,
                   Q (v->host_path->path));
        if (!ok)
            s_err (e,
                   "%s.hostPath.type: Unsupported value: %s: supported values: \"\", "
                   "\"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", "
                   "\"File\", \"FileOrCreate\", \"Socket\"",
                   p, Q (v->host_path->type));
    }
}

static void s_check_volumes (s_errs_t *e, const char *path, const Hs__PodSpec *s)
{
    char p[320];
    for (size_t i = 0; i < s->n_volumes; i++) {
        const Hs__Volume *v = s->volumes[i];
        s_path (p, sizeof p, path, "volumes", (long)i, "");
        char q[340];
        snprintf (q, sizeof q, "%s.name", p);
        if (hs_empty (v->name))
            s_err (e, "%s: Required value", q);
        else
            s_check_label (e, q, v->name);
        for (size_t j = 0; j < i; j++)
            if (!hs_empty (v->name) && hs_streq (v->name, s->volumes[j]->name))
                s_err (e, "%s: Duplicate value: %s", q, Q (v->name));
        s_check_volume (e, p, v);
    }
    for (size_t i = 0; i < s->n_containers; i++) {
        const Hs__Container *c = s->containers[i];
        for (size_t j = 0; j < c->n_volume_mounts; j++) {
            const Hs__VolumeMount *m = c->volume_mounts[j];
            snprintf (p, sizeof p, "%s.containers[%zu].volumeMounts[%zu]", path, i, j);
            bool found = false;
            for (size_t k = 0; k < s->n_volumes && !found; k++)
                found = hs_streq (s->volumes[k]->name, m->name);
            if (hs_empty (m->name))
                s_err (e, "%s.name: Required value", p);
            else if (!found)
                s_err (e, "%s.name: Not found: %s", p, Q (m->name));
            if (hs_empty (m->mount_path))
                s_err (e, "%s.mountPath: Required value", p);
            else if (m->mount_path[0] != '/' || strchr (m->mount_path, ':') ||
                     (m->mount_path[1] && !s_rel_path_ok (m->mount_path + 1)))
                s_err (e,
                       "%s.mountPath: Invalid value: %s: must be an absolute path without ':' "
                       "or '..'",
                       p, Q (m->mount_path));
            for (size_t k = 0; k < j; k++)
                if (!hs_empty (m->mount_path) &&
                    hs_streq (m->mount_path, c->volume_mounts[k]->mount_path))
                    s_err (e, "%s.mountPath: Invalid value: %s: must be unique", p,
                           Q (m->mount_path));
            if (!hs_empty (m->sub_path) && !s_rel_path_ok (m->sub_path))
                s_err (e, "%s.subPath: Invalid value: %s: must be a relative path without '..'", p,
                       Q (m->sub_path));
        }
    }
}

static void s_check_container (s_errs_t *e, const char *path, const Hs__Container *c)
{
    char p[300];
    s_path (p, sizeof p, path, "name", -1, "");
    s_check_label (e, p, c->name);
    if (c->n_command == 0 || hs_empty (c->command[0]))
        s_err (e,
               "%s.command: Required value: homeostat runs processes, not images: give the "
               "program to run in `command`",
               path);
    for (size_t i = 0; i < c->n_env; i++)
        if (hs_empty (c->env[i]->name)) s_err (e, "%s.env[%zu].name: Required value", path, i);
    s_check_env (e, path, c);
    for (size_t i = 0; i < c->n_ports; i++) {
        const Hs__ContainerPort *port = c->ports[i];
        s_path (p, sizeof p, path, "ports", (long)i, ".containerPort");
        s_check_port_num (e, p, port->container_port, true);
        s_path (p, sizeof p, path, "ports", (long)i, ".hostPort");
        s_check_port_num (e, p, port->host_port, false);
        if (!hs_streq (port->protocol, "TCP") && !hs_streq (port->protocol, "UDP") &&
            !hs_streq (port->protocol, "SCTP"))
            s_err (e,
                   "%s.ports[%zu].protocol: Unsupported value: %s: supported values: "
                   "\"SCTP\", \"TCP\", \"UDP\"",
                   path, i, Q (port->protocol));
        for (size_t j = 0; j < i; j++) {
            if (!hs_empty (port->name) && hs_streq (port->name, c->ports[j]->name))
                s_err (e, "%s.ports[%zu].name: Duplicate value: %s", path, i, Q (port->name));
        }
    }
    s_path (p, sizeof p, path, "resources", -1, "");
    s_check_resources (e, p, c->resources);
    s_path (p, sizeof p, path, "livenessProbe", -1, "");
    s_check_probe (e, p, c->liveness_probe, true);
    s_path (p, sizeof p, path, "readinessProbe", -1, "");
    s_check_probe (e, p, c->readiness_probe, false);
    s_path (p, sizeof p, path, "startupProbe", -1, "");
    s_check_probe (e, p, c->startup_probe, true);
}

/* dnsPolicy (docs/architecture.md, "Pod DNS") and what hostNetwork implies. */
static void s_check_pod_network (s_errs_t *e, const char *path, const Hs__PodSpec *s)
{
    static const char *const dns[] = {"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"};
    bool ok = false;
    for (size_t i = 0; i < HS_ARRAY_LEN (dns); i++) ok |= hs_streq (s->dns_policy, dns[i]);
    if (!ok)
        s_err (e,
               "%s.dnsPolicy: Unsupported value: %s: supported values: \"ClusterFirst\", "
               "\"ClusterFirstWithHostNet\", \"Default\", \"None\"",
               path, Q (s->dns_policy));
    if (!hs_empty (s->subdomain)) {
        char p[300];
        s_path (p, sizeof p, path, "subdomain", -1, "");
        s_check_label (e, p, s->subdomain);
    }
    if (!s->host_network) return;
    for (size_t i = 0; i < s->n_containers; i++)
        for (size_t j = 0; j < s->containers[i]->n_ports; j++) {
            const Hs__ContainerPort *port = s->containers[i]->ports[j];
            if (port->host_port != 0 && port->host_port != port->container_port)
                s_err (e,
                       "%s.containers[%zu].ports[%zu].hostPort: Invalid value: %d: must match "
                       "`containerPort` when `hostNetwork` is true",
                       path, i, j, port->host_port);
        }
}

/* ------------------------------------------------------------------ securityContext */

static void s_check_id (s_errs_t *e, const char *path, const char *field, const Hs__Int64Value *v)
{
    if (v && (v->value < 0 || v->value > INT32_MAX))
        s_err (e, "%s.%s: Invalid value: %lld: must be between 0 and 2147483647, inclusive", path,
               field, (long long)v->value);
}

static void s_check_seccomp (s_errs_t *e, const char *path, const Hs__SeccompProfile *sp)
{
    if (!sp) return;
    static const char *const types[] = {"RuntimeDefault", "Unconfined", "Localhost"};
    bool ok = false;
    for (size_t i = 0; i < HS_ARRAY_LEN (types); i++) ok |= hs_streq (sp->type, types[i]);
    if (hs_empty (sp->type))
        s_err (e, "%s.seccompProfile.type: Required value", path);
    else if (!ok)
        s_err (e,
               "%s.seccompProfile.type: Unsupported value: %s: supported values: \"Localhost\", "
               "\"RuntimeDefault\", \"Unconfined\"",
               path, Q (sp->type));
    bool local = hs_streq (sp->type, "Localhost");
    if (local && hs_empty (sp->localhost_profile))
        s_err (e,
               "%s.seccompProfile.localhostProfile: Required value: must be set when seccomp "
               "type is Localhost",
               path);
    if (!local && !hs_empty (sp->localhost_profile))
        s_err (e,
               "%s.seccompProfile.localhostProfile: Invalid value: %s: can only be set when "
               "seccomp type is Localhost",
               path, Q (sp->localhost_profile));
}

static void s_check_caps (s_errs_t *e, const char *path, const char *field, char *const *names,
                          size_t n, bool all_ok)
{
    for (size_t i = 0; i < n; i++) {
        if (all_ok && hs_streq (names[i], "ALL")) continue;
        if (hs_cap_parse (names[i]) < 0)
            s_err (e, "%s.capabilities.%s[%zu]: Unsupported value: %s: not a Linux capability%s",
                   path, field, i, Q (names[i]), all_ok ? " (or ALL)" : " (ALL is only for drop)");
    }
}

/* Pod and container securityContext (hs_podsec.h has what they mean). */
static void s_check_security (s_errs_t *e, const char *path, const Hs__PodSpec *s)
{
    char p[300];
    const Hs__PodSecurityContext *ps = s->security_context;
    if (ps) {
        s_path (p, sizeof p, path, "securityContext", -1, "");
        s_check_id (e, p, "runAsUser", ps->run_as_user);
        s_check_id (e, p, "runAsGroup", ps->run_as_group);
        s_check_id (e, p, "fsGroup", ps->fs_group);
        for (size_t i = 0; i < ps->n_supplemental_groups; i++) {
            Hs__Int64Value g = {.value = ps->supplemental_groups[i]};
            char f[48];
            snprintf (f, sizeof f, "supplementalGroups[%zu]", i);
            s_check_id (e, p, f, &g);
        }
        s_check_seccomp (e, p, ps->seccomp_profile);
    }
    for (size_t i = 0; i < s->n_containers; i++) {
        const Hs__SecurityContext *cs = s->containers[i]->security_context;
        if (!cs) continue;
        s_path (p, sizeof p, path, "containers", (long)i, ".securityContext");
        s_check_id (e, p, "runAsUser", cs->run_as_user);
        s_check_id (e, p, "runAsGroup", cs->run_as_group);
        s_check_seccomp (e, p, cs->seccomp_profile);
        if (cs->capabilities) {
            s_check_caps (e, p, "add", cs->capabilities->add, cs->capabilities->n_add, false);
            s_check_caps (e, p, "drop", cs->capabilities->drop, cs->capabilities->n_drop, true);
        }
        bool no_escalation =
            cs->allow_privilege_escalation && !cs->allow_privilege_escalation->value;
        if (no_escalation && cs->privileged && cs->privileged->value)
            s_err (e,
                   "%s: Invalid value: \"securityContext\": cannot set `allowPrivilegeEscalation` "
                   "to false and `privileged` to true",
                   p);
        if (no_escalation && cs->capabilities) {
            for (size_t j = 0; j < cs->capabilities->n_add; j++)
                if (hs_cap_parse (cs->capabilities->add[j]) == 21 /* SYS_ADMIN */)
                    s_err (e,
                           "%s: Invalid value: \"securityContext\": cannot set "
                           "`allowPrivilegeEscalation` to false and `capabilities.Add` "
                           "CAP_SYS_ADMIN",
                           p);
        }
    }
}

/* restart_ok: the restart policies this owner allows (NULL: any of the three). */
static void s_check_pod_spec (s_errs_t *e, const char *path, const Hs__PodSpec *s,
                              const char *const *restart_ok, size_t n_restart_ok)
{
    char p[300];
    if (!s || s->n_containers == 0) {
        s_err (e, "%s.containers: Required value", path);
    } else {
        for (size_t i = 0; i < s->n_containers; i++) {
            s_path (p, sizeof p, path, "containers", (long)i, "");
            s_check_container (e, p, s->containers[i]);
            for (size_t j = 0; j < i; j++)
                if (!hs_empty (s->containers[i]->name) &&
                    hs_streq (s->containers[i]->name, s->containers[j]->name))
                    s_err (e, "%s.containers[%zu].name: Duplicate value: %s", path, i,
                           Q (s->containers[i]->name));
        }
    }
    if (!s) return;
    static const char *const all[] = {"Always", "OnFailure", "Never"};
    if (!restart_ok) {
        restart_ok = all;
        n_restart_ok = 3;
    }
    bool ok = false;
    for (size_t i = 0; i < n_restart_ok; i++) ok |= hs_streq (s->restart_policy, restart_ok[i]);
    if (!ok) {
        hs_buf_t b = {0};
        for (size_t i = 0; i < n_restart_ok; i++)
            hs_buf_printf (&b, "%s\"%s\"", i ? ", " : "", restart_ok[i]);
        s_err (e, "%s.restartPolicy: Unsupported value: %s: supported values: %s", path,
               Q (s->restart_policy), b.data);
        hs_buf_free (&b);
    }
    if (s->termination_grace_period_seconds && s->termination_grace_period_seconds->value < 0)
        s_err (e,
               "%s.terminationGracePeriodSeconds: Invalid value: %lld: must be greater than or "
               "equal to 0",
               path, (long long)s->termination_grace_period_seconds->value);
    if (s->active_deadline_seconds && s->active_deadline_seconds->value <= 0)
        s_err (e, "%s.activeDeadlineSeconds: Invalid value: %lld: must be greater than 0", path,
               (long long)s->active_deadline_seconds->value);
    if (!hs_empty (s->node_name)) {
        s_path (p, sizeof p, path, "nodeName", -1, "");
        s_check_subdomain (e, p, s->node_name);
    }
    s_check_pod_network (e, path, s);
    s_check_volumes (e, path, s);
    s_check_security (e, path, s);
    for (size_t i = 0; i < s->n_tolerations; i++) {
        const Hs__Toleration *t = s->tolerations[i];
        if (!hs_empty (t->operator_) && !hs_streq (t->operator_, "Equal") &&
            !hs_streq (t->operator_, "Exists"))
            s_err (e,
                   "%s.tolerations[%zu].operator: Unsupported value: %s: supported values: "
                   "\"Equal\", \"Exists\"",
                   path, i, Q (t->operator_));
        if (!hs_empty (t->effect) && !hs_streq (t->effect, "NoSchedule") &&
            !hs_streq (t->effect, "PreferNoSchedule") && !hs_streq (t->effect, "NoExecute"))
            s_err (e,
                   "%s.tolerations[%zu].effect: Unsupported value: %s: supported values: "
                   "\"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
                   path, i, Q (t->effect));
    }
}

/* ------------------------------------------------------------------ selectors */

/* Go's %#v of a map[string]string, as Kubernetes prints template labels. */
static char *s_fmt_map (Hs__ObjectMeta__LabelsEntry *const *labels, size_t n)
{
    hs_buf_t b = {0};
    hs_buf_puts (&b, "map[string]string{");
    for (size_t i = 0; i < n; i++)
        hs_buf_printf (&b, "%s%s:%s", i ? ", " : "", Q (labels[i]->key), Q (labels[i]->value));
    hs_buf_puts (&b, "}");
    return hs_buf_take (&b);
}

static void s_check_selector (s_errs_t *e, const Hs__LabelSelector *sel, const char *what)
{
    if (!sel || (sel->n_match_labels == 0 && sel->n_match_expressions == 0)) {
        s_err (e, "spec.selector: Required value");
        return;
    }
    s_check_labels (e, "spec.selector.matchLabels", (void *const *)sel->match_labels,
                    sel->n_match_labels);
    for (size_t i = 0; i < sel->n_match_expressions; i++) {
        const Hs__LabelSelectorRequirement *r = sel->match_expressions[i];
        bool set_op = hs_streq (r->operator_, "In") || hs_streq (r->operator_, "NotIn");
        bool exist_op =
            hs_streq (r->operator_, "Exists") || hs_streq (r->operator_, "DoesNotExist");
        if (!set_op && !exist_op)
            s_err (e,
                   "spec.selector.matchExpressions[%zu].operator: Invalid value: %s: not a valid "
                   "selector operator",
                   i, Q (r->operator_));
        if (set_op && r->n_values == 0)
            s_err (e,
                   "spec.selector.matchExpressions[%zu].values: Required value: must be "
                   "specified when `operator` is 'In' or 'NotIn'",
                   i);
        if (exist_op && r->n_values > 0)
            s_err (e,
                   "spec.selector.matchExpressions[%zu].values: Forbidden: may not be specified "
                   "when `operator` is 'Exists' or 'DoesNotExist'",
                   i);
    }
    (void)what;
}

static void s_check_workload (s_errs_t *e, const Hs__Int32Value *replicas, const char *rname,
                              const Hs__LabelSelector *sel, const Hs__PodTemplateSpec *t,
                              const char *const *restart_ok, size_t n_restart_ok)
{
    if (replicas && replicas->value < 0)
        s_err (e, "%s: Invalid value: %d: must be greater than or equal to 0", rname,
               replicas->value);
    s_check_selector (e, sel, rname);
    Hs__ObjectMeta *tm = t ? t->metadata : NULL;
    if (tm)
        s_check_labels (e, "spec.template.metadata.labels", (void *const *)tm->labels,
                        tm->n_labels);
    if (sel && (sel->n_match_labels || sel->n_match_expressions) &&
        !hs_selector_matches (sel, tm ? (void *const *)tm->labels : NULL, tm ? tm->n_labels : 0)) {
        _cleanup_free_ char *m = s_fmt_map (tm ? tm->labels : NULL, tm ? tm->n_labels : 0);
        s_err (e,
               "spec.template.metadata.labels: Invalid value: %s: `selector` does not match "
               "template `labels`",
               m);
    }
    s_check_pod_spec (e, "spec.template.spec", t ? t->spec : NULL, restart_ok, n_restart_ok);
}

/* An int or a percentage ("25%"), as maxSurge / maxUnavailable. */
static int s_int_or_percent (s_errs_t *e, const char *path, const char *v, int64_t *ret)
{
    *ret = 0;
    if (hs_empty (v)) return 0;
    size_t n = strlen (v);
    int64_t x;
    if (v[n - 1] == '%') {
        char num[32];
        if (n - 1 == 0 || n - 1 >= sizeof num) goto bad_percent;
        memcpy (num, v, n - 1);
        num[n - 1] = '\0';
        if (hs_parse_i64 (num, &x) < 0 || num[0] == '+' || num[0] == '-') goto bad_percent;
        if (x > 100) {
            s_err (e, "%s: Invalid value: %s: must not be greater than 100%%", path, Q (v));
            return -1;
        }
        *ret = x;
        return 0;
    }
    if (hs_parse_i64 (v, &x) == 0) {
        if (x < 0) {
            s_err (e, "%s: Invalid value: %lld: must be greater than or equal to 0", path,
                   (long long)x);
            return -1;
        }
        *ret = x;
        return 0;
    }
bad_percent:
    s_err (e,
           "%s: Invalid value: %s: a valid percent string must be a numeric string followed by "
           "an ending '%%' (e.g. '1%%',  or '93%%', regex used for validation is '[0-9]+%%')",
           path, Q (v));
    return -1;
}

static void s_check_deployment (s_errs_t *e, const Hs__DeploymentSpec *s)
{
    static const char *const always[] = {"Always"};
    s_check_workload (e, s->replicas, "spec.replicas", s->selector, s->template_, always, 1);
    const Hs__DeploymentStrategy *st = s->strategy;
    if (st && !hs_streq (st->type, "RollingUpdate") && !hs_streq (st->type, "Recreate"))
        s_err (e,
               "spec.strategy.type: Unsupported value: %s: supported values: \"Recreate\", "
               "\"RollingUpdate\"",
               Q (st->type));
    if (st && hs_streq (st->type, "Recreate") && st->rolling_update)
        s_err (e, "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy "
                  "`type` is 'Recreate'");
    if (st && st->rolling_update) {
        int64_t surge, unavail;
        int a = s_int_or_percent (e, "spec.strategy.rollingUpdate.maxSurge",
                                  st->rolling_update->max_surge, &surge);
        int b = s_int_or_percent (e, "spec.strategy.rollingUpdate.maxUnavailable",
                                  st->rolling_update->max_unavailable, &unavail);
        if (a == 0 && b == 0 && surge == 0 && unavail == 0)
            s_err (e,
                   "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: %s: may not be 0 "
                   "when `maxSurge` is 0",
                   Q (st->rolling_update->max_unavailable));
    }
    if (s->revision_history_limit && s->revision_history_limit->value < 0)
        s_err (e,
               "spec.revisionHistoryLimit: Invalid value: %d: must be greater than or equal to 0",
               s->revision_history_limit->value);
    if (s->min_ready_seconds < 0)
        s_err (e, "spec.minReadySeconds: Invalid value: %d: must be greater than or equal to 0",
               s->min_ready_seconds);
    if (s->progress_deadline_seconds && s->progress_deadline_seconds->value <= s->min_ready_seconds)
        s_err (e,
               "spec.progressDeadlineSeconds: Invalid value: %d: must be greater than "
               "minReadySeconds",
               s->progress_deadline_seconds->value);
}

static void s_check_job (s_errs_t *e, const Hs__JobSpec *s)
{
    static const char *const job_restart[] = {"OnFailure", "Never"};
    s_check_workload (e, NULL, "spec.selector", s->selector, s->template_, job_restart, 2);
    struct {
        const char *name;
        const Hs__Int32Value *v;
    } f[] = {{"parallelism", s->parallelism},
             {"completions", s->completions},
             {"backoffLimit", s->backoff_limit},
             {"ttlSecondsAfterFinished", s->ttl_seconds_after_finished}};
    for (size_t i = 0; i < HS_ARRAY_LEN (f); i++)
        if (f[i].v && f[i].v->value < 0)
            s_err (e, "spec.%s: Invalid value: %d: must be greater than or equal to 0", f[i].name,
                   f[i].v->value);
    if (s->active_deadline_seconds && s->active_deadline_seconds->value <= 0)
        s_err (e, "spec.activeDeadlineSeconds: Invalid value: %lld: must be greater than 0",
               (long long)s->active_deadline_seconds->value);
    /* hs-jobs runs NonIndexed Jobs only: refuse what it would not honour. */
    if (!hs_streq (s->completion_mode, "NonIndexed"))
        s_err (e, "spec.completionMode: Unsupported value: %s: supported values: \"NonIndexed\"",
               Q (s->completion_mode));
}

static void s_check_resource_list (s_errs_t *e, const char *path, const Hs__ResourceList *l)
{
    if (!l) return;
    char p[128];
    int64_t v;
    s_path (p, sizeof p, path, "cpu", -1, "");
    s_check_quantity (e, p, l->cpu, 0, &v);
    s_path (p, sizeof p, path, "memory", -1, "");
    s_check_quantity (e, p, l->memory, 1, &v);
    s_path (p, sizeof p, path, "pods", -1, "");
    s_check_quantity (e, p, l->pods, 2, &v);
}

static void s_check_node (s_errs_t *e, const Hs__Node *n)
{
    const Hs__NodeSpec *sp = n->spec;
    hs_cidr_t c;
    if (sp && !hs_empty (sp->pod_cidr)) {
        if (hs_cidr_parse (sp->pod_cidr, &c) < 0)
            s_err (e, "spec.podCIDR: Invalid value: %s: " CIDR_MSG, Q (sp->pod_cidr));
        else if (c.prefix > 30)
            s_err (e,
                   "spec.podCIDR: Invalid value: %s: leaves no room for pods: the prefix "
                   "length must be at most 30",
                   Q (sp->pod_cidr));
    }
    if (sp && sp->n_pod_cidrs > 1)
        s_err (e,
               "spec.podCIDRs: Too many: %zu: must have at most 1 items (homeostat's nodes are "
               "IPv4 single-stack)",
               sp->n_pod_cidrs);
    else if (sp && sp->n_pod_cidrs == 1 && !hs_streq (sp->pod_cidrs[0], sp->pod_cidr))
        s_err (e, "spec.podCIDRs[0]: Invalid value: %s: must match `podCIDR`",
               Q (sp->pod_cidrs[0]));
    if (n->status) {
        s_check_resource_list (e, "status.capacity", n->status->capacity);
        s_check_resource_list (e, "status.allocatable", n->status->allocatable);
    }
    for (size_t i = 0; n->spec && i < n->spec->n_taints; i++) {
        const Hs__Taint *t = n->spec->taints[i];
        char p[64];
        s_path (p, sizeof p, "spec", "taints", (long)i, ".key");
        if (hs_empty (t->key))
            s_err (e, "%s: Required value", p);
        else
            s_check_qualified (e, p, t->key);
        if (!hs_streq (t->effect, "NoSchedule") && !hs_streq (t->effect, "PreferNoSchedule") &&
            !hs_streq (t->effect, "NoExecute"))
            s_err (e,
                   "spec.taints[%zu].effect: Unsupported value: %s: supported values: "
                   "\"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
                   i, Q (t->effect));
    }
}

/* ------------------------------------------------------------------ services */

static bool s_ipv4_ok (const char *s)
{
    uint32_t ip;
    return hs_ip_parse (s, &ip) == 0;
}

/* Kubernetes' IsValidPortName (an IANA_SVC_NAME): the first problem, or NULL. */
static const char *s_port_name_err (const char *name)
{
    size_t n = strlen (name);
    bool charset = true, letter = false;
    for (size_t i = 0; i < n; i++) {
        if (!s_alnum_lower (name[i]) && name[i] != '-') charset = false;
        if (name[i] >= 'a' && name[i] <= 'z') letter = true;
    }
    if (n > 15) return "must be no more than 15 characters";
    if (!charset) return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
    if (!letter) return "must contain at least one letter (a-z)";
    if (strstr (name, "--")) return "must not contain consecutive hyphens";
    if (n > 0 && (name[0] == '-' || name[n - 1] == '-'))
        return "must not begin or end with a hyphen";
    return NULL;
}

/* A targetPort: a number 1..65535 or a container port's name. */
static void s_check_target_port (s_errs_t *e, size_t i, const char *tp)
{
    int n;
    if (hs_empty (tp)) return; /* defaulted from a port that is itself refused */
    int r = hs_port_parse (tp, &n);
    if (r == 0) return;
    if (r == -ERANGE) {
        s_err (e,
               "spec.ports[%zu].targetPort: Invalid value: %s: must be between 1 and 65535, "
               "inclusive",
               i, tp);
        return;
    }
    const char *why = s_port_name_err (tp);
    if (why) s_err (e, "spec.ports[%zu].targetPort: Invalid value: %s: %s", i, Q (tp), why);
}

static void s_check_service (s_errs_t *e, const Hs__ServiceSpec *s)
{
    if (!s) {
        s_err (e, "spec: Required value");
        return;
    }
    bool headless = hs_streq (s->cluster_ip, "None");
    if (!hs_streq (s->type, "ClusterIP"))
        s_err (e, "spec.type: Unsupported value: %s: supported values: \"ClusterIP\"", Q (s->type));
    if (s->n_ports == 0 && !headless) s_err (e, "spec.ports: Required value");
    char p[64];
    for (size_t i = 0; i < s->n_ports; i++) {
        const Hs__ServicePort *sp = s->ports[i];
        if (hs_empty (sp->name)) {
            if (s->n_ports > 1) s_err (e, "spec.ports[%zu].name: Required value", i);
        } else {
            s_path (p, sizeof p, "spec", "ports", (long)i, ".name");
            s_check_label (e, p, sp->name);
        }
        for (size_t j = 0; j < i && !hs_empty (sp->name); j++)
            if (hs_streq (sp->name, s->ports[j]->name)) {
                s_err (e, "spec.ports[%zu].name: Duplicate value: %s", i, Q (sp->name));
                break;
            }
        if (!hs_streq (sp->protocol, "TCP") && !hs_streq (sp->protocol, "UDP"))
            s_err (e,
                   "spec.ports[%zu].protocol: Unsupported value: %s: supported values: \"TCP\", "
                   "\"UDP\"",
                   i, Q (sp->protocol));
        if (sp->port < 1 || sp->port > 65535)
            s_err (e,
                   "spec.ports[%zu].port: Invalid value: %d: must be between 1 and 65535, "
                   "inclusive",
                   i, sp->port);
        for (size_t j = 0; j < i; j++)
            if (sp->port == s->ports[j]->port && hs_streq (sp->protocol, s->ports[j]->protocol)) {
                s_err (e, "spec.ports[%zu]: Duplicate value: \"%d/%s\"", i, sp->port,
                       hs_s (sp->protocol));
                break;
            }
        s_check_target_port (e, i, sp->target_port);
        if (sp->node_port != 0)
            s_err (e,
                   "spec.ports[%zu].nodePort: Forbidden: may not be used when `type` is "
                   "'ClusterIP'",
                   i);
    }
    if (!hs_empty (s->cluster_ip) && !headless && !s_ipv4_ok (s->cluster_ip))
        s_err (e, "spec.clusterIPs[0]: Invalid value: %s: " IP_MSG, Q (s->cluster_ip));
    if (s->n_cluster_ips > 1)
        s_err (e,
               "spec.clusterIPs: Too many: %zu: must have at most 1 items (homeostat's Services "
               "are IPv4 single-stack)",
               s->n_cluster_ips);
    else if (s->n_cluster_ips == 1 && !hs_streq (s->cluster_ips[0], s->cluster_ip))
        s_err (e, "spec.clusterIPs[0]: Invalid value: %s: must match `clusterIP` when present",
               Q (s->cluster_ips[0]));
    bool client_ip = hs_streq (s->session_affinity, "ClientIP");
    if (!client_ip && !hs_streq (s->session_affinity, "None"))
        s_err (e,
               "spec.sessionAffinity: Unsupported value: %s: supported values: \"ClientIP\", "
               "\"None\"",
               Q (s->session_affinity));
    const Hs__SessionAffinityConfig *ac = s->session_affinity_config;
    if (client_ip && ac && ac->client_ip && ac->client_ip->timeout_seconds) {
        int32_t t = ac->client_ip->timeout_seconds->value;
        if (t <= 0 || t > AFFINITY_TIMEOUT_MAX)
            s_err (e,
                   "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: %d: must "
                   "be greater than 0 and less than %d",
                   t, AFFINITY_TIMEOUT_MAX);
    } else if (!client_ip && ac && ac->client_ip)
        s_err (e, "spec.sessionAffinityConfig: Forbidden: must not be set when session affinity "
                  "is None");
    s_check_labels (e, "spec.selector", (void *const *)s->selector, s->n_selector);
    if (!hs_streq (s->internal_traffic_policy, "Cluster"))
        s_err (e,
               "spec.internalTrafficPolicy: Unsupported value: %s: supported values: \"Cluster\"",
               Q (s->internal_traffic_policy));
    if (s->n_external_ips > 0)
        s_err (e, "spec.externalIPs: Forbidden: not supported: hs-proxy routes a Service's "
                  "clusterIP only");
}

static void s_check_endpoint_addresses (s_errs_t *e, size_t i, const char *list,
                                        Hs__EndpointAddress *const *a, size_t n)
{
    char p[96];
    for (size_t j = 0; j < n; j++) {
        uint32_t ip = 0;
        if (!s_ipv4_ok (a[j]->ip))
            s_err (e, "subsets[%zu].%s[%zu].ip: Invalid value: %s: " IP_MSG, i, list, j,
                   Q (a[j]->ip));
        else if (hs_ip_parse (a[j]->ip, &ip) == 0 &&
                 ((ip >> 24) == 0 || (ip >> 16) == 0xa9fe || (ip >> 28) >= 0xe))
            /* Kubernetes' ValidateNonSpecialIP (CVE-2021-25740): every
             * node's hs-proxy would DNAT the Service to it. Loopback stays
             * allowed (hs-dns on one host advertises 127.0.0.1); hs-proxy
             * never sends Service traffic there. */
            s_err (e,
                   "subsets[%zu].%s[%zu].ip: Invalid value: %s: may not be unspecified, "
                   "link-local, multicast or reserved",
                   i, list, j, Q (a[j]->ip));
        if (!hs_empty (a[j]->hostname)) {
            snprintf (p, sizeof p, "subsets[%zu].%s[%zu].hostname", i, list, j);
            s_check_label (e, p, a[j]->hostname);
        }
        if (!hs_empty (a[j]->node_name)) {
            snprintf (p, sizeof p, "subsets[%zu].%s[%zu].nodeName", i, list, j);
            s_check_subdomain (e, p, a[j]->node_name);
        }
    }
}

static void s_check_endpoints (s_errs_t *e, const Hs__Endpoints *ep)
{
    for (size_t i = 0; i < ep->n_subsets; i++) {
        const Hs__EndpointSubset *ss = ep->subsets[i];
        if (ss->n_addresses == 0 && ss->n_not_ready_addresses == 0)
            s_err (e,
                   "subsets[%zu]: Required value: must specify `addresses` or "
                   "`notReadyAddresses`",
                   i);
        s_check_endpoint_addresses (e, i, "addresses", ss->addresses, ss->n_addresses);
        s_check_endpoint_addresses (e, i, "notReadyAddresses", ss->not_ready_addresses,
                                    ss->n_not_ready_addresses);
        for (size_t k = 0; k < ss->n_ports; k++) {
            const Hs__EndpointPort *port = ss->ports[k];
            if (hs_empty (port->name)) {
                if (ss->n_ports > 1)
                    s_err (e, "subsets[%zu].ports[%zu].name: Required value", i, k);
            } else {
                char p[64];
                snprintf (p, sizeof p, "subsets[%zu].ports[%zu].name", i, k);
                s_check_label (e, p, port->name);
            }
            if (port->port < 1 || port->port > 65535)
                s_err (e,
                       "subsets[%zu].ports[%zu].port: Invalid value: %d: must be between 1 and "
                       "65535, inclusive",
                       i, k, port->port);
            if (!hs_streq (port->protocol, "TCP") && !hs_streq (port->protocol, "UDP"))
                s_err (e,
                       "subsets[%zu].ports[%zu].protocol: Unsupported value: %s: supported "
                       "values: \"TCP\", \"UDP\"",
                       i, k, Q (port->protocol));
        }
    }
}

/* ------------------------------------------------------------------ ConfigMap, Secret checks */

/* IsConfigMapKey: one error per failed rule, as kube lists them. The path
 * holds the key as kube's field.Path.Key does (data[key]), unquoted when
 * printable. */
static void s_check_config_key (s_errs_t *e, const char *path, const char *key)
{
    size_t n = strlen (key);
    bool printable = n <= 253;
    for (size_t i = 0; i < n && printable; i++) printable = key[i] >= 0x20 && key[i] < 0x7f;
    char pb[300];
    snprintf (pb, sizeof pb, "%s[%s]", path, printable ? key : Q (key));
    if (n > 253)
        s_err (e, "%s: Invalid value: %s: must be no more than 253 characters", pb, Q (key));
    bool ok = n > 0;
    for (size_t i = 0; i < n && ok; i++) {
        char c = key[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_' || c == '.';
    }
    if (!ok) s_err (e, "%s: Invalid value: %s: " CONFIG_KEY_MSG, pb, Q (key));
    if (hs_streq (key, "."))
        s_err (e, "%s: Invalid value: %s: must not be '.'", pb, Q (key));
    else if (hs_streq (key, ".."))
        s_err (e, "%s: Invalid value: %s: must not be '..'", pb, Q (key));
    else if (hs_startswith (key, ".."))
        s_err (e, "%s: Invalid value: %s: must not start with '..'", pb, Q (key));
}

/* Never a value in a message: only keys and sizes. */
static void s_check_configmap (s_errs_t *e, const Hs__ConfigMap *cm)
{
    size_t total = 0;
    for (size_t i = 0; i < cm->n_data; i++) {
        s_check_config_key (e, "data", cm->data[i]->key);
        total += strlen (hs_s (cm->data[i]->value)); /* values, as kube counts */
    }
    for (size_t i = 0; i < cm->n_binary_data; i++) {
        const char *k = cm->binary_data[i]->key;
        s_check_config_key (e, "binaryData", k);
        total += cm->binary_data[i]->value.len;
        for (size_t j = 0; j < cm->n_data; j++)
            if (hs_streq (cm->data[j]->key, k))
                s_err (e, "binaryData: Invalid value: %s: duplicate of key present in data", Q (k));
    }
    if (total > MAX_DATA_SIZE) s_err (e, "[]: Too long: must have at most %d bytes", MAX_DATA_SIZE);
}

static bool s_secret_has (const Hs__Secret *sec, const char *key)
{
    for (size_t i = 0; i < sec->n_data; i++)
        if (hs_streq (sec->data[i]->key, key)) return true;
    return false;
}

static void s_check_secret (s_errs_t *e, const Hs__Secret *sec)
{
    size_t total = 0;
    for (size_t i = 0; i < sec->n_data; i++) {
        s_check_config_key (e, "data", sec->data[i]->key);
        total += sec->data[i]->value.len;
    }
    /* stringData is merged by the defaults; one left over is checked too */
    for (size_t i = 0; i < sec->n_string_data; i++) {
        s_check_config_key (e, "stringData", sec->string_data[i]->key);
        total += strlen (hs_s (sec->string_data[i]->value));
    }
    if (total > MAX_DATA_SIZE)
        s_err (e, "data: Too long: must have at most %d bytes", MAX_DATA_SIZE);
    if (strlen (hs_s (sec->type)) > 253)
        s_err (e, "type: Invalid value: %s: must be no more than 253 characters", Q (sec->type));
    /* the types whose keys kube requires */
    static const struct {
        const char *type, *keys[2];
    } typed[] = {
        {"kubernetes.io/tls", {"tls.crt", "tls.key"}},
        {"kubernetes.io/dockerconfigjson", {".dockerconfigjson", NULL}},
        {"kubernetes.io/dockercfg", {".dockercfg", NULL}},
        {"kubernetes.io/ssh-auth", {"ssh-privatekey", NULL}},
    };
    for (size_t t = 0; t < HS_ARRAY_LEN (typed); t++) {
        if (!hs_streq (sec->type, typed[t].type)) continue;
        for (size_t k = 0; k < 2 && typed[t].keys[k]; k++)
            if (!s_secret_has (sec, typed[t].keys[k]))
                s_err (e, "data[%s]: Required value", typed[t].keys[k]);
    }
    if (hs_streq (sec->type, "kubernetes.io/basic-auth") && !s_secret_has (sec, "username") &&
        !s_secret_has (sec, "password"))
        s_err (e, "data[username]: Required value: either username or password is required");
}

/* ------------------------------------------------------------------ HorizontalPodAutoscaler checks */

#define HPA_MAX_PERIOD_SECONDS        1800 /* kube's MaxPeriodSeconds */
#define HPA_MAX_STABILIZATION_SECONDS 3600 /* kube's MaxStabilizationWindowSeconds */

/* kube's IsValidPathSegmentName: the name goes into a URL path. */
static void s_check_path_segment (s_errs_t *e, const char *path, const char *v)
{
    if (hs_streq (v, "."))
        s_err (e, "%s: Invalid value: %s: may not be '.'", path, Q (v));
    else if (hs_streq (v, ".."))
        s_err (e, "%s: Invalid value: %s: may not be '..'", path, Q (v));
    else {
        if (strchr (v, '/')) s_err (e, "%s: Invalid value: %s: may not contain '/'", path, Q (v));
        if (strchr (v, '%')) s_err (e, "%s: Invalid value: %s: may not contain '%%'", path, Q (v));
    }
}

/* kube's ValidateCrossVersionObjectReference, then what hs-autoscaler can
 * scale: a Deployment or a ReplicaSet (apps/v1) of the HPA's namespace. */
static void s_check_hpa_ref (s_errs_t *e, const Hs__CrossVersionObjectReference *ref)
{
    const char *kind = ref ? hs_s (ref->kind) : "", *name = ref ? hs_s (ref->name) : "";
    const char *api = ref ? hs_s (ref->api_version) : "";
    if (!*kind)
        s_err (e, "spec.scaleTargetRef.kind: Required value");
    else {
        s_check_path_segment (e, "spec.scaleTargetRef.kind", kind);
        if (!hs_streq (kind, "Deployment") && !hs_streq (kind, "ReplicaSet"))
            s_err (e,
                   "spec.scaleTargetRef.kind: Unsupported value: %s: supported values: "
                   "\"Deployment\", \"ReplicaSet\" (Homeostat scales these only)",
                   Q (kind));
    }
    if (!*name)
        s_err (e, "spec.scaleTargetRef.name: Required value");
    else
        s_check_path_segment (e, "spec.scaleTargetRef.name", name);
    if (*api && !hs_streq (api, "apps/v1"))
        s_err (e,
               "spec.scaleTargetRef.apiVersion: Unsupported value: %s: supported values: "
               "\"apps/v1\"",
               Q (api));
}

/* A quantity and its sign: 1 positive, 0 zero or negative, -1 not a
 * quantity (CPU or bytes forms, hs_quantity.h). */
static int s_quantity_sign (const char *v)
{
    int64_t x;
    bool ok = hs_quantity_cpu_milli (v, &x) == 0 || hs_quantity_bytes (v, &x) == 0;
    if (!ok) return v[0] == '-' && (v[1] != '\0') ? 0 : -1;
    /* the mantissa: any non-zero digit before the suffix or exponent ("0.5m" is positive) */
    for (const char *p = v; *p && (*p == '.' || (*p >= '0' && *p <= '9') || *p == '+'); p++)
        if (*p >= '1' && *p <= '9') return 1;
    return 0;
}

static void s_check_hpa_quantity (s_errs_t *e, const char *path, const char *v)
{
    int sign = s_quantity_sign (v);
    if (sign < 0)
        s_err (e, "%s: Invalid value: %s: " QUANTITY_MSG, path, Q (v));
    else if (sign == 0)
        s_err (e, "%s: Invalid value: %s: must be positive", path, Q (v));
}

/* kube's validateMetricTarget and validate(Container)ResourceSource, then
 * Homeostat's stricter rule: the type names the field that is set
 * (Utilization: averageUtilization, AverageValue: averageValue; Value is
 * for Object and External metrics, which Homeostat does not support). */
static void s_check_hpa_target (s_errs_t *e, const char *src, const Hs__MetricTarget *t)
{
    char p[160];
    const char *type = t ? hs_s (t->type) : "";
    if (!*type) {
        snprintf (p, sizeof p, "%s.target.type", src);
        s_err (e, "%s: Required value: must specify a metric target type", p);
    }
    if (!hs_streq (type, "Utilization") && !hs_streq (type, "Value") &&
        !hs_streq (type, "AverageValue")) {
        snprintf (p, sizeof p, "%s.target.type", src);
        s_err (e, "%s: Invalid value: %s: must be either Utilization, Value, or AverageValue", p,
               Q (type));
    }
    if (!t) t = &(Hs__MetricTarget)HS__METRIC_TARGET__INIT;
    bool value = !hs_empty (t->value), avg = !hs_empty (t->average_value);
    bool util = t->average_utilization != NULL;
    if (value) {
        snprintf (p, sizeof p, "%s.target.value", src);
        s_check_hpa_quantity (e, p, t->value);
    }
    if (avg) {
        snprintf (p, sizeof p, "%s.target.averageValue", src);
        s_check_hpa_quantity (e, p, t->average_value);
    }
    if (util && t->average_utilization->value < 1) {
        snprintf (p, sizeof p, "%s.target.averageUtilization", src);
        s_err (e, "%s: Invalid value: %d: must be greater than 0", p,
               t->average_utilization->value);
    }
    if (!util && !avg) {
        snprintf (p, sizeof p, "%s.target.averageUtilization", src);
        s_err (e, "%s: Required value: must set either a target raw value or a target utilization",
               p);
    }
    if (util && avg) {
        snprintf (p, sizeof p, "%s.target.averageValue", src);
        s_err (e, "%s: Forbidden: may not set both a target raw value and a target utilization", p);
    }
    if (hs_streq (type, "Utilization") && !util && avg) {
        snprintf (p, sizeof p, "%s.target.averageUtilization", src);
        s_err (e, "%s: Required value: must be set when the target type is Utilization", p);
    } else if (hs_streq (type, "AverageValue") && !avg && util) {
        snprintf (p, sizeof p, "%s.target.averageValue", src);
        s_err (e, "%s: Required value: must be set when the target type is AverageValue", p);
    } else if (hs_streq (type, "Value")) {
        snprintf (p, sizeof p, "%s.target.type", src);
        s_err (e,
               "%s: Unsupported value: \"Value\": supported values: \"AverageValue\", "
               "\"Utilization\" (a resource metric is averaged over the pods)",
               p);
    }
}

/* The resources hs-agent measures (NodeUsage): cpu and memory. */
static void s_check_hpa_resource_name (s_errs_t *e, const char *src, const char *name)
{
    char p[160];
    snprintf (p, sizeof p, "%s.name", src);
    if (hs_empty (name))
        s_err (e, "%s: Required value: must specify a resource name", p);
    else if (!hs_streq (name, "cpu") && !hs_streq (name, "memory"))
        s_err (e,
               "%s: Unsupported value: %s: supported values: \"cpu\", \"memory\" (the "
               "resources Homeostat measures)",
               p, Q (name));
}

static void s_check_hpa_metric (s_errs_t *e, size_t i, const Hs__MetricSpec *m)
{
    char p[48], src[96];
    snprintf (p, sizeof p, "spec.metrics[%zu]", i);
    const char *type = hs_s (m->type);
    /* present sources, in kube's order, and the field the type names */
    const struct {
        const char *field, *type;
        bool set;
    } srcs[] = {
        {"object", "Object", m->object != NULL},
        {"external", "External", m->external != NULL},
        {"pods", "Pods", m->pods != NULL},
        {"resource", "Resource", m->resource != NULL},
        {"containerResource", "ContainerResource", m->container_resource != NULL},
    };
    const char *expected = NULL;
    int present = 0;
    for (size_t k = 0; k < HS_ARRAY_LEN (srcs); k++) {
        present += srcs[k].set;
        if (hs_streq (type, srcs[k].type)) expected = srcs[k].field;
    }
    if (!*type) s_err (e, "%s.type: Required value: must specify a metric source type", p);
    if (hs_streq (type, "Object") || hs_streq (type, "External") || hs_streq (type, "Pods"))
        s_err (e,
               "%s.type: Unsupported value: %s: supported values: \"ContainerResource\", "
               "\"Resource\" (Homeostat does not support Pods, Object or External metrics: it "
               "has no custom or external metrics API)",
               p, Q (type));
    else if (!expected)
        s_err (e,
               "%s.type: Unsupported value: %s: supported values: \"ContainerResource\", "
               "\"External\", \"Object\", \"Pods\", \"Resource\"",
               p, Q (type));
    for (size_t k = 0; k < HS_ARRAY_LEN (srcs); k++) {
        if (expected && hs_streq (expected, srcs[k].field) && !srcs[k].set)
            s_err (e,
                   "%s.%s: Required value: must populate information for the given metric source",
                   p, srcs[k].field);
        if (srcs[k].set && present > 1 && !hs_streq (expected, srcs[k].field))
            s_err (e, "%s.%s: Forbidden: must populate the given metric source only", p,
                   srcs[k].field);
    }
    /* the source the type names (kube checks the first present one) */
    if (m->resource && hs_streq (expected, "resource")) {
        snprintf (src, sizeof src, "%s.resource", p);
        s_check_hpa_resource_name (e, src, m->resource->name);
        s_check_hpa_target (e, src, m->resource->target);
    } else if (m->container_resource && hs_streq (expected, "containerResource")) {
        const Hs__ContainerResourceMetricSource *c = m->container_resource;
        snprintf (src, sizeof src, "%s.containerResource", p);
        s_check_hpa_resource_name (e, src, c->name);
        char cp[128];
        snprintf (cp, sizeof cp, "%s.container", src);
        if (hs_empty (c->container))
            s_err (e, "%s: Required value: must specify a container", cp);
        else
            s_check_label (e, cp, c->container);
        s_check_hpa_target (e, src, c->target);
    }
}

/* kube's validateScalingRules and validateScalingPolicy. */
static void s_check_hpa_rules (s_errs_t *e, const char *dir, const Hs__HPAScalingRules *r)
{
    if (!r) return;
    const char *p = dir;
    const Hs__Int32Value *w = r->stabilization_window_seconds;
    if (w && w->value < 0)
        s_err (e,
               "%s.stabilizationWindowSeconds: Invalid value: %d: must be greater than or "
               "equal to zero",
               p, w->value);
    if (w && w->value > HPA_MAX_STABILIZATION_SECONDS)
        s_err (e,
               "%s.stabilizationWindowSeconds: Invalid value: %d: must be less than or equal "
               "to %d",
               p, w->value, HPA_MAX_STABILIZATION_SECONDS);
    if (!hs_empty (r->select_policy) && !hs_streq (r->select_policy, "Max") &&
        !hs_streq (r->select_policy, "Min") && !hs_streq (r->select_policy, "Disabled"))
        s_err (e,
               "%s.selectPolicy: Unsupported value: %s: supported values: \"Disabled\", \"Max\", "
               "\"Min\"",
               p, Q (r->select_policy));
    if (r->n_policies == 0)
        s_err (e, "%s.policies: Required value: must specify at least one Policy", p);
    for (size_t i = 0; i < r->n_policies; i++) {
        const Hs__HPAScalingPolicy *pol = r->policies[i];
        if (!hs_streq (pol->type, "Pods") && !hs_streq (pol->type, "Percent"))
            s_err (e,
                   "%s.policies[%zu].type: Unsupported value: %s: supported values: "
                   "\"Percent\", \"Pods\"",
                   p, i, Q (pol->type));
        if (pol->value <= 0)
            s_err (e, "%s.policies[%zu].value: Invalid value: %d: must be greater than zero", p, i,
                   pol->value);
        if (pol->period_seconds <= 0)
            s_err (e,
                   "%s.policies[%zu].periodSeconds: Invalid value: %d: must be greater than zero",
                   p, i, pol->period_seconds);
        if (pol->period_seconds > HPA_MAX_PERIOD_SECONDS)
            s_err (e,
                   "%s.policies[%zu].periodSeconds: Invalid value: %d: must be less than or "
                   "equal to %d",
                   p, i, pol->period_seconds, HPA_MAX_PERIOD_SECONDS);
    }
}

/* kube's validateHorizontalPodAutoscalerSpec (HPAScaleToZero off, as by
 * default in 1.32: minReplicas at least 1) and its status update rule. */
static void s_check_hpa (s_errs_t *e, const Hs__HorizontalPodAutoscaler *h)
{
    const Hs__HorizontalPodAutoscalerSpec *s = h->spec;
    if (!s) {
        s_err (e, "spec: Required value");
        return;
    }
    if (s->min_replicas && s->min_replicas->value < 1)
        s_err (e, "spec.minReplicas: Invalid value: %d: must be greater than or equal to 1",
               s->min_replicas->value);
    if (s->max_replicas < 1)
        s_err (e, "spec.maxReplicas: Invalid value: %d: must be greater than 0", s->max_replicas);
    if (s->min_replicas && s->max_replicas < s->min_replicas->value)
        s_err (e,
               "spec.maxReplicas: Invalid value: %d: must be greater than or equal to "
               "`minReplicas`",
               s->max_replicas);
    s_check_hpa_ref (e, s->scale_target_ref);
    for (size_t i = 0; i < s->n_metrics; i++) s_check_hpa_metric (e, i, s->metrics[i]);
    if (s->behavior) {
        s_check_hpa_rules (e, "spec.behavior.scaleUp", s->behavior->scale_up);
        s_check_hpa_rules (e, "spec.behavior.scaleDown", s->behavior->scale_down);
    }
    const Hs__HorizontalPodAutoscalerStatus *st = h->status;
    if (st && st->current_replicas < 0)
        s_err (e, "status.currentReplicas: Invalid value: %d: must be greater than or equal to 0",
               st->current_replicas);
    if (st && st->desired_replicas < 0)
        s_err (e, "status.desiredReplicas: Invalid value: %d: must be greater than or equal to 0",
               st->desired_replicas);
}

static bool s_immutable (const Hs__BoolValue *b)
{
    return b && b->value;
}

/* Two maps hold the same entries (both sorted by hs_obj_normalize). */
static bool s_maps_equal (void *const *a, size_t na, void *const *b, size_t nb)
{
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++)
        if (!hs_pb_equal (a[i], b[i])) return false;
    return true;
}

int hs_data_validate_update (const Hs__Object *old, const Hs__Object *upd, char **ret_msg)
{
    s_errs_t e = {0};
    const char *kind = NULL, *name = "";
    if (old->kind_case == HS__OBJECT__KIND_CONFIG_MAP &&
        upd->kind_case == HS__OBJECT__KIND_CONFIG_MAP) {
        const Hs__ConfigMap *o = old->config_map, *n = upd->config_map;
        kind = "ConfigMap";
        name = n->metadata ? n->metadata->name : "";
        if (s_immutable (o->immutable)) {
            if (!s_immutable (n->immutable)) s_err (&e, "immutable: Forbidden: " IMMUTABLE_MSG);
            if (!s_maps_equal ((void *const *)o->data, o->n_data, (void *const *)n->data,
                               n->n_data))
                s_err (&e, "data: Forbidden: " IMMUTABLE_MSG);
            if (!s_maps_equal ((void *const *)o->binary_data, o->n_binary_data,
                               (void *const *)n->binary_data, n->n_binary_data))
                s_err (&e, "binaryData: Forbidden: " IMMUTABLE_MSG);
        }
    } else if (old->kind_case == HS__OBJECT__KIND_SECRET &&
               upd->kind_case == HS__OBJECT__KIND_SECRET) {
        const Hs__Secret *o = old->secret, *n = upd->secret;
        kind = "Secret";
        name = n->metadata ? n->metadata->name : "";
        if (!hs_streq (o->type, n->type))
            s_err (&e, "type: Invalid value: %s: field is immutable", Q (n->type));
        if (s_immutable (o->immutable)) {
            if (!s_immutable (n->immutable)) s_err (&e, "immutable: Forbidden: " IMMUTABLE_MSG);
            if (!s_maps_equal ((void *const *)o->data, o->n_data, (void *const *)n->data,
                               n->n_data))
                s_err (&e, "data: Forbidden: " IMMUTABLE_MSG);
        }
    }
    if (e.n == 0) {
        hs_buf_free (&e.buf);
        return 0;
    }
    _cleanup_free_ char *list = hs_buf_take (&e.buf);
    *ret_msg = e.n == 1 ? hs_sprintf ("%s \"%s\" is invalid: %s", kind, name, list)
                        : hs_sprintf ("%s \"%s\" is invalid: [%s]", kind, name, list);
    return -EINVAL;
}

int hs_obj_validate (const Hs__Object *o, char **ret_msg)
{
    hs_kind_t kind = hs_obj_kind (o);
    const hs_kind_info_t *info = hs_kind_info (kind);
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    if (!info || !hs_obj_body (o)) {
        *ret_msg = hs_strdup ("object: Required value: the object has no kind");
        return -EINVAL;
    }
    s_errs_t e = {0};
    if (!m) {
        s_err (&e, "metadata: Required value");
    } else {
        s_check_meta (&e, info, m);
    }
    switch (kind) {
    case HS_KIND_POD: s_check_pod_spec (&e, "spec", o->pod->spec, NULL, 0); break;
    case HS_KIND_REPLICASET: {
        static const char *const always[] = {"Always"};
        const Hs__ReplicaSetSpec *s = o->replica_set->spec;
        if (!s)
            s_err (&e, "spec: Required value");
        else {
            s_check_workload (&e, s->replicas, "spec.replicas", s->selector, s->template_, always,
                              1);
            if (s->min_ready_seconds < 0)
                s_err (&e,
                       "spec.minReadySeconds: Invalid value: %d: must be greater than or "
                       "equal to 0",
                       s->min_ready_seconds);
        }
        break;
    }
    case HS_KIND_DEPLOYMENT:
        if (!o->deployment->spec)
            s_err (&e, "spec: Required value");
        else
            s_check_deployment (&e, o->deployment->spec);
        break;
    case HS_KIND_JOB:
        if (!o->job->spec)
            s_err (&e, "spec: Required value");
        else
            s_check_job (&e, o->job->spec);
        break;
    case HS_KIND_NODE: s_check_node (&e, o->node); break;
    case HS_KIND_SERVICE: s_check_service (&e, o->service->spec); break;
    case HS_KIND_ENDPOINTS: s_check_endpoints (&e, o->endpoints); break;
    case HS_KIND_CONFIGMAP: s_check_configmap (&e, o->config_map); break;
    case HS_KIND_SECRET: s_check_secret (&e, o->secret); break;
    case HS_KIND_HPA: s_check_hpa (&e, o->horizontal_pod_autoscaler); break;
    case HS_KIND_EVENT:
        if (o->event->count < 0)
            s_err (&e, "count: Invalid value: %d: must be greater than or equal to 0",
                   o->event->count);
        break;
    default: break;
    }
    if (e.n == 0) {
        hs_buf_free (&e.buf);
        return 0;
    }
    const char *name = m ? (hs_empty (m->name) ? m->generate_name : m->name) : "";
    _cleanup_free_ char *list = hs_buf_take (&e.buf);
    *ret_msg = e.n == 1 ? hs_sprintf ("%s \"%s\" is invalid: %s", info->kind_name, name, list)
                        : hs_sprintf ("%s \"%s\" is invalid: [%s]", info->kind_name, name, list);
    return -EINVAL;
}

/* ------------------------------------------------------------------ pod updates */

static void s_mask_mutable (Hs__PodSpec *s, const Hs__PodSpec *old)
{
    for (size_t i = 0; i < s->n_containers; i++) hs_pb_set_str (&s->containers[i]->image, NULL);
    hs_pb_free (s->active_deadline_seconds);
    s->active_deadline_seconds = NULL;
    hs_pb_set_str (&s->node_name, NULL);
    /* Pods stored before dnsPolicy had a default have none: the default. */
    if (hs_empty (s->dns_policy)) hs_pb_set_str (&s->dns_policy, "ClusterFirst");
    /* Likewise hostPort, defaulted under hostNetwork since: compare it
     * defaulted on both sides. */
    for (size_t i = 0; s->host_network && i < s->n_containers; i++)
        for (size_t j = 0; j < s->containers[i]->n_ports; j++) {
            Hs__ContainerPort *p = s->containers[i]->ports[j];
            if (p->host_port == 0) p->host_port = p->container_port;
        }
    /* Tolerations may only be added: keep just the old prefix. */
    if (old && s->n_tolerations >= old->n_tolerations) {
        for (size_t i = old->n_tolerations; i < s->n_tolerations; i++)
            hs_pb_free (s->tolerations[i]);
        s->n_tolerations = old->n_tolerations;
    }
}

int hs_pod_validate_update (const Hs__Pod *old, const Hs__Pod *upd, char **ret_msg)
{
    _cleanup_pb_ Hs__PodSpec *a = old->spec ? hs_pb_dup (old->spec) : NULL;
    _cleanup_pb_ Hs__PodSpec *b = upd->spec ? hs_pb_dup (upd->spec) : NULL;
    if (!a) a = hs_pb_new (&hs__pod_spec__descriptor);
    if (!b) b = hs_pb_new (&hs__pod_spec__descriptor);
    /* Mask b with the tolerations a had, before a's own copy is masked. */
    s_mask_mutable (b, a);
    s_mask_mutable (a, NULL);
    if (hs_pb_equal (a, b)) return 0;
    const char *name = old->metadata ? old->metadata->name : "";
    *ret_msg = hs_sprintf ("Pod \"%s\" is invalid: spec: Forbidden: pod updates may not change "
                           "fields other than `spec.containers[*].image`, "
                           "`spec.activeDeadlineSeconds` or `spec.tolerations` (only additions "
                           "to existing tolerations)",
                           name);
    return -EINVAL;
}
