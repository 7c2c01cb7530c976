/*  ctl_print.c: the `hsctl get` tables — columns, one row per object, and the
 *  derived figures kubectl shows (pod STATUS, node STATUS/ROLES, job
 *  DURATION). Pure: objects and a clock in, text out.
 */
#include "ctl_fmt.h"
#include "hs_workload.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ small text helpers */

const char *ctl_fmt_rfc1123 (int64_t ns, char *buf, size_t len)
{
    time_t t = (time_t)(ns / 1000000000LL);
    struct tm tm;
    localtime_r (&t, &tm);
    if (!strftime (buf, len, "%a, %d %b %Y %H:%M:%S %z", &tm)) snprintf (buf, len, "<invalid>");
    return buf;
}

const char *ctl_fmt_duration (int64_t ns, char *buf, size_t len)
{
    if (ns < 0) ns = 0;
    return hs_fmt_age (1, 1 + ns, buf, len);
}

char *ctl_labels_str (void *const *entries, size_t n)
{
    if (n == 0) return hs_strdup ("<none>");
    const hs_pb_map_entry_t **sorted = hs_pb_map_sorted (entries, n);
    hs_buf_t b = {0};
    for (size_t i = 0; i < n; i++)
        hs_buf_printf (&b, "%s%s=%s", i ? "," : "", sorted[i]->key, sorted[i]->value);
    free (sorted);
    return hs_buf_take (&b);
}

static void s_join_values (hs_buf_t *b, char **values, size_t n)
{
    for (size_t i = 0; i < n; i++) hs_buf_printf (b, "%s%s", i ? "," : "", values[i]);
}

char *ctl_label_selector_str (const Hs__LabelSelector *sel)
{
    if (!sel || (sel->n_match_labels == 0 && sel->n_match_expressions == 0))
        return hs_strdup ("<none>");
    hs_buf_t b = {0};
    if (sel->n_match_labels) {
        char *l = ctl_labels_str ((void *const *)sel->match_labels, sel->n_match_labels);
        hs_buf_puts (&b, l);
        free (l);
    }
    for (size_t i = 0; i < sel->n_match_expressions; i++) {
        const Hs__LabelSelectorRequirement *r = sel->match_expressions[i];
        if (b.len) hs_buf_puts (&b, ",");
        if (hs_streq (r->operator_, "In") || hs_streq (r->operator_, "NotIn")) {
            hs_buf_printf (&b, "%s %s (", r->key, hs_streq (r->operator_, "In") ? "in" : "notin");
            s_join_values (&b, r->values, r->n_values);
            hs_buf_puts (&b, ")");
        } else if (hs_streq (r->operator_, "DoesNotExist"))
            hs_buf_printf (&b, "!%s", r->key);
        else
            hs_buf_puts (&b, r->key);
    }
    return hs_buf_take (&b);
}

bool ctl_label_selector_matches (const Hs__LabelSelector *sel, void *const *labels, size_t n)
{
    return hs_selector_matches (sel, labels, n);
}

/* ------------------------------------------------------------ derived status */

const char *ctl_pod_status (const Hs__Pod *pod, int *ret_ready, int *ret_total, int *ret_restarts,
                            int64_t *ret_last_restart_ns)
{
    /* kubectl's printPod, minus init containers */
    static __thread char reason_buf[64];
    const Hs__PodStatus *st = pod->status;
    const char *reason = st && !hs_empty (st->phase) ? st->phase : "Pending";
    if (st && !hs_empty (st->reason)) reason = st->reason;
    int ready = 0, restarts = 0;
    int64_t last_restart = 0;
    bool has_running = false;
    for (size_t k = st ? st->n_container_statuses : 0; k-- > 0;) {
        const Hs__ContainerStatus *c = st->container_statuses[k];
        restarts += c->restart_count;
        if (c->last_state && c->last_state->terminated &&
            c->last_state->terminated->finished_at > last_restart)
            last_restart = c->last_state->terminated->finished_at;
        const Hs__ContainerState *s = c->state;
        if (s && s->waiting && !hs_empty (s->waiting->reason))
            reason = s->waiting->reason;
        else if (s && s->terminated && !hs_empty (s->terminated->reason))
            reason = s->terminated->reason;
        else if (s && s->terminated) {
            if (s->terminated->signal)
                snprintf (reason_buf, sizeof reason_buf, "Signal:%d", s->terminated->signal);
            else
                snprintf (reason_buf, sizeof reason_buf, "ExitCode:%d", s->terminated->exit_code);
            reason = reason_buf;
        } else if (c->ready && s && s->running) {
            has_running = true;
            ready++;
        }
    }
    if (hs_streq (reason, "Completed") && has_running) {
        bool pod_ready = false;
        for (size_t i = 0; st && i < st->n_conditions; i++)
            if (hs_streq (st->conditions[i]->type, "Ready") &&
                hs_streq (st->conditions[i]->status, "True"))
                pod_ready = true;
        reason = pod_ready ? "Running" : "NotReady";
    }
    if (pod->metadata && pod->metadata->deletion_timestamp) {
        reason = st && hs_streq (st->reason, "NodeLost") ? "Unknown" : "Terminating";
    }
    if (ret_ready) *ret_ready = ready;
    if (ret_total) *ret_total = pod->spec ? (int)pod->spec->n_containers : 0;
    if (ret_restarts) *ret_restarts = restarts;
    if (ret_last_restart_ns) *ret_last_restart_ns = last_restart;
    return reason;
}

const char *ctl_node_status (const Hs__Node *node, char *buf, size_t len)
{
    const char *s = "Unknown";
    for (size_t i = 0; node->status && i < node->status->n_conditions; i++) {
        const Hs__NodeCondition *c = node->status->conditions[i];
        if (!hs_streq (c->type, "Ready")) continue;
        /* kubectl: Ready True is Ready, False or Unknown NotReady; no
         * Ready condition at all is Unknown */
        s = hs_streq (c->status, "True") ? "Ready" : "NotReady";
    }
    snprintf (buf, len, "%s%s", s,
              node->spec && node->spec->unschedulable ? ",SchedulingDisabled" : "");
    return buf;
}

char *ctl_node_roles (const Hs__Node *node)
{
    const Hs__ObjectMeta *m = node->metadata;
    const char *roles[64];
    size_t n = 0;
    for (size_t i = 0; m && i < m->n_labels && n < HS_ARRAY_LEN (roles); i++) {
        const char *k = m->labels[i]->key;
        if (hs_startswith (k, "node-role.kubernetes.io/") && k[24])
            roles[n++] = k + 24;
        else if (hs_streq (k, "kubernetes.io/role") && !hs_empty (m->labels[i]->value))
            roles[n++] = m->labels[i]->value;
    }
    if (n == 0) return hs_strdup ("<none>");
    /* sorted, like kubectl's sets.List */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp (roles[j - 1], roles[j]) > 0; j--) {
            const char *t = roles[j];
            roles[j] = roles[j - 1];
            roles[j - 1] = t;
        }
    hs_buf_t b = {0};
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp (roles[i], roles[i - 1]))
            hs_buf_printf (&b, "%s%s", b.len ? "," : "", roles[i]);
    return hs_buf_take (&b);
}

/* ------------------------------------------------------------ columns and rows */

static const char *s_cols_pod[] = {"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"};
static const char *s_cols_node[] = {"NAME",    "STATUS",      "ROLES",    "AGE",
                                    "VERSION", "INTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION"};
static const char *s_cols_rs[] = {"NAME", "DESIRED",    "CURRENT", "READY",
                                  "AGE",  "CONTAINERS", "IMAGES",  "SELECTOR"};
static const char *s_cols_deploy[] = {"NAME", "READY",      "UP-TO-DATE", "AVAILABLE",
                                      "AGE",  "CONTAINERS", "IMAGES",     "SELECTOR"};
static const char *s_cols_job[] = {"NAME", "STATUS",     "COMPLETIONS", "DURATION",
                                   "AGE",  "CONTAINERS", "IMAGES",      "SELECTOR"};
static const char *s_cols_svc[] = {"NAME",    "TYPE", "CLUSTER-IP", "EXTERNAL-IP",
                                   "PORT(S)", "AGE",  "SELECTOR"};
static const char *s_cols_ep[] = {"NAME", "ENDPOINTS", "AGE"};
static const char *s_cols_cm[] = {"NAME", "DATA", "AGE"};
static const char *s_cols_secret[] = {"NAME", "TYPE", "DATA", "AGE"};
static const char *s_cols_hpa[] = {"NAME",    "REFERENCE", "TARGETS", "MINPODS",
                                   "MAXPODS", "REPLICAS",  "AGE"};
static const char *s_cols_event[] = {"LAST SEEN", "TYPE",    "REASON",     "OBJECT", "SUBOBJECT",
                                     "SOURCE",    "MESSAGE", "FIRST SEEN", "COUNT",  "NAME"};

static size_t s_copy (const char **dst, const char *const *src, size_t n)
{
    memcpy (dst, src, n * sizeof (*src));
    return n;
}

size_t ctl_columns (hs_kind_t kind, bool wide, const char **ret)
{
    switch (kind) {
    case HS_KIND_POD: return s_copy (ret, s_cols_pod, wide ? 7 : 5);
    case HS_KIND_NODE: return s_copy (ret, s_cols_node, wide ? 8 : 5);
    case HS_KIND_REPLICASET: return s_copy (ret, s_cols_rs, wide ? 8 : 5);
    case HS_KIND_DEPLOYMENT: return s_copy (ret, s_cols_deploy, wide ? 8 : 5);
    case HS_KIND_JOB: return s_copy (ret, s_cols_job, wide ? 8 : 5);
    case HS_KIND_SERVICE: return s_copy (ret, s_cols_svc, wide ? 7 : 6);
    case HS_KIND_ENDPOINTS: return s_copy (ret, s_cols_ep, 3);
    case HS_KIND_CONFIGMAP: return s_copy (ret, s_cols_cm, 3);
    case HS_KIND_SECRET: return s_copy (ret, s_cols_secret, 4);
    case HS_KIND_HPA: return s_copy (ret, s_cols_hpa, 7);
    case HS_KIND_EVENT:
        if (wide) return s_copy (ret, s_cols_event, 10);
        ret[0] = "LAST SEEN", ret[1] = "TYPE", ret[2] = "REASON", ret[3] = "OBJECT";
        ret[4] = "MESSAGE";
        return 5;
    default: ret[0] = "NAME"; return 1;
    }
}

static char *s_age (int64_t since, int64_t now)
{
    char buf[32];
    return hs_strdup (hs_fmt_age (since, now, buf, sizeof buf));
}

static char *s_or_none (const char *s)
{
    return hs_strdup (hs_empty (s) ? "<none>" : s);
}

/* CONTAINERS, IMAGES, SELECTOR of a workload's -o wide. */
static size_t s_template_cells (const Hs__PodTemplateSpec *t, const Hs__LabelSelector *sel,
                                char **cells)
{
    hs_buf_t names = {0}, images = {0};
    const Hs__PodSpec *spec = t ? t->spec : NULL;
    for (size_t i = 0; spec && i < spec->n_containers; i++) {
        hs_buf_printf (&names, "%s%s", i ? "," : "", spec->containers[i]->name);
        hs_buf_printf (&images, "%s%s", i ? "," : "", spec->containers[i]->image);
    }
    cells[0] = names.len ? hs_buf_take (&names) : hs_strdup ("");
    cells[1] = images.len ? hs_buf_take (&images) : hs_strdup ("");
    cells[2] = ctl_label_selector_str (sel);
    hs_buf_free (&names);
    hs_buf_free (&images);
    return 3;
}

static int64_t s_event_last (const Hs__Event *e)
{
    if (e->last_timestamp) return e->last_timestamp;
    if (e->first_timestamp) return e->first_timestamp;
    return e->metadata ? e->metadata->creation_timestamp : 0;
}

static size_t s_pod_cells (const Hs__Pod *p, bool wide, int64_t now, char **c)
{
    int ready, total, restarts;
    int64_t last;
    const char *status = ctl_pod_status (p, &ready, &total, &restarts, &last);
    char age[32];
    c[0] = hs_strdup (p->metadata->name);
    c[1] = hs_sprintf ("%d/%d", ready, total);
    c[2] = hs_strdup (status);
    c[3] = last ? hs_sprintf ("%d (%s ago)", restarts, hs_fmt_age (last, now, age, sizeof age))
                : hs_sprintf ("%d", restarts);
    c[4] = s_age (p->metadata->creation_timestamp, now);
    if (!wide) return 5;
    c[5] = s_or_none (p->status ? p->status->pod_ip : NULL);
    c[6] = s_or_none (p->spec ? p->spec->node_name : NULL);
    return 7;
}

static size_t s_node_cells (const Hs__Node *n, bool wide, int64_t now, char **c)
{
    char buf[64];
    const Hs__NodeStatus *st = n->status;
    c[0] = hs_strdup (n->metadata->name);
    c[1] = hs_strdup (ctl_node_status (n, buf, sizeof buf));
    c[2] = ctl_node_roles (n);
    c[3] = s_age (n->metadata->creation_timestamp, now);
    c[4] = s_or_none (st && st->node_info ? st->node_info->agent_version : NULL);
    if (!wide) return 5;
    const char *ip = NULL;
    for (size_t i = 0; st && i < st->n_addresses; i++)
        if (hs_streq (st->addresses[i]->type, "InternalIP")) {
            ip = st->addresses[i]->address;
            break;
        }
    c[5] = s_or_none (ip);
    c[6] = s_or_none (st && st->node_info ? st->node_info->os_image : NULL);
    c[7] = s_or_none (st && st->node_info ? st->node_info->kernel_version : NULL);
    return 8;
}

static size_t s_rs_cells (const Hs__ReplicaSet *r, bool wide, int64_t now, char **c)
{
    int desired = r->spec && r->spec->replicas ? r->spec->replicas->value : 1;
    c[0] = hs_strdup (r->metadata->name);
    c[1] = hs_sprintf ("%d", desired);
    c[2] = hs_sprintf ("%d", r->status ? r->status->replicas : 0);
    c[3] = hs_sprintf ("%d", r->status ? r->status->ready_replicas : 0);
    c[4] = s_age (r->metadata->creation_timestamp, now);
    if (!wide) return 5;
    return 5 + s_template_cells (r->spec ? r->spec->template_ : NULL,
                                 r->spec ? r->spec->selector : NULL, c + 5);
}

static size_t s_deploy_cells (const Hs__Deployment *d, bool wide, int64_t now, char **c)
{
    int desired = d->spec && d->spec->replicas ? d->spec->replicas->value : 1;
    const Hs__DeploymentStatus *st = d->status;
    c[0] = hs_strdup (d->metadata->name);
    c[1] = hs_sprintf ("%d/%d", st ? st->ready_replicas : 0, desired);
    c[2] = hs_sprintf ("%d", st ? st->updated_replicas : 0);
    c[3] = hs_sprintf ("%d", st ? st->available_replicas : 0);
    c[4] = s_age (d->metadata->creation_timestamp, now);
    if (!wide) return 5;
    return 5 + s_template_cells (d->spec ? d->spec->template_ : NULL,
                                 d->spec ? d->spec->selector : NULL, c + 5);
}

/* kubectl's hasJobCondition: the first condition of that type is True. */
static bool s_job_cond (const Hs__JobStatus *st, const char *type)
{
    for (size_t i = 0; st && i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, type))
            return hs_streq (st->conditions[i]->status, "True");
    return false;
}

static size_t s_job_cells (const Hs__Job *j, bool wide, int64_t now, char **c)
{
    const Hs__JobStatus *st = j->status;
    int succeeded = st ? st->succeeded : 0;
    c[0] = hs_strdup (j->metadata->name);
    /* kubectl's STATUS column, in its order */
    const char *status = "Running";
    if (s_job_cond (st, "Complete"))
        status = "Complete";
    else if (s_job_cond (st, "Failed"))
        status = "Failed";
    else if (j->metadata->deletion_timestamp)
        status = "Terminating";
    else if (s_job_cond (st, "Suspended"))
        status = "Suspended";
    else if (s_job_cond (st, "FailureTarget"))
        status = "FailureTarget";
    c[1] = hs_strdup (status);
    if (j->spec && j->spec->completions)
        c[2] = hs_sprintf ("%d/%d", succeeded, j->spec->completions->value);
    else if (j->spec && j->spec->parallelism && j->spec->parallelism->value > 1)
        c[2] = hs_sprintf ("%d/1 of %d", succeeded, j->spec->parallelism->value);
    else
        c[2] = hs_sprintf ("%d/1", succeeded);
    char buf[32];
    if (!st || !st->start_time)
        c[3] = hs_strdup ("");
    else
        c[3] = hs_strdup (ctl_fmt_duration (
            (st->completion_time ? st->completion_time : now) - st->start_time, buf, sizeof buf));
    c[4] = s_age (j->metadata->creation_timestamp, now);
    if (!wide) return 5;
    return 5 + s_template_cells (j->spec ? j->spec->template_ : NULL,
                                 j->spec ? j->spec->selector : NULL, c + 5);
}

char *ctl_service_ports_str (const Hs__ServiceSpec *s)
{
    if (!s || s->n_ports == 0) return hs_strdup ("<none>");
    hs_buf_t b = {0};
    for (size_t i = 0; i < s->n_ports; i++) {
        const Hs__ServicePort *p = s->ports[i];
        hs_buf_printf (&b, "%s%d", i ? "," : "", p->port);
        if (p->node_port) hs_buf_printf (&b, ":%d", p->node_port);
        hs_buf_printf (&b, "/%s", hs_empty (p->protocol) ? "TCP" : p->protocol);
    }
    return hs_buf_take (&b);
}

/* kubectl's formatEndpoints: the first 3 ready addresses ip:port of the
 * ports named port_name (NULL: every port), then " + N more...". */
char *ctl_endpoints_str (const Hs__Endpoints *ep, const char *port_name)
{
    enum { MAX = 3 };
    hs_buf_t b = {0};
    size_t listed = 0, count = 0;
    for (size_t i = 0; ep && i < ep->n_subsets; i++) {
        const Hs__EndpointSubset *ss = ep->subsets[i];
        if (ss->n_ports == 0) { /* a headless Service may have no ports */
            count += ss->n_addresses;
            for (size_t a = 0; a < ss->n_addresses && listed < MAX; a++, listed++)
                hs_buf_printf (&b, "%s%s", listed ? "," : "", ss->addresses[a]->ip);
            continue;
        }
        for (size_t k = 0; k < ss->n_ports; k++) {
            if (port_name && !hs_streq (ss->ports[k]->name, port_name)) continue;
            count += ss->n_addresses;
            for (size_t a = 0; a < ss->n_addresses && listed < MAX; a++, listed++)
                hs_buf_printf (&b, "%s%s:%d", listed ? "," : "", ss->addresses[a]->ip,
                               ss->ports[k]->port);
        }
    }
    if (listed == 0) {
        hs_buf_free (&b);
        return hs_strdup ("<none>");
    }
    if (count > listed) hs_buf_printf (&b, " + %zu more...", count - listed);
    return hs_buf_take (&b);
}

static size_t s_svc_cells (const Hs__Service *svc, bool wide, int64_t now, char **c)
{
    const Hs__ServiceSpec *s = svc->spec;
    c[0] = hs_strdup (svc->metadata->name);
    c[1] = hs_strdup (s && !hs_empty (s->type) ? s->type : "ClusterIP");
    c[2] = s_or_none (s ? s->cluster_ip : NULL);
    if (s && s->n_external_ips) {
        hs_buf_t b = {0};
        for (size_t i = 0; i < s->n_external_ips; i++)
            hs_buf_printf (&b, "%s%s", i ? "," : "", s->external_ips[i]);
        c[3] = hs_buf_take (&b);
    } else
        c[3] = hs_strdup ("<none>");
    c[4] = ctl_service_ports_str (s);
    c[5] = s_age (svc->metadata->creation_timestamp, now);
    if (!wide) return 6;
    c[6] = ctl_labels_str (s ? (void *const *)s->selector : NULL, s ? s->n_selector : 0);
    return 7;
}

static size_t s_ep_cells (const Hs__Endpoints *ep, int64_t now, char **c)
{
    c[0] = hs_strdup (ep->metadata->name);
    c[1] = ctl_endpoints_str (ep, NULL);
    c[2] = s_age (ep->metadata->creation_timestamp, now);
    return 3;
}

/* DATA: the number of keys (a ConfigMap's data and binaryData together) */
static size_t s_cm_cells (const Hs__ConfigMap *cm, int64_t now, char **c)
{
    c[0] = hs_strdup (cm->metadata->name);
    c[1] = hs_sprintf ("%zu", cm->n_data + cm->n_binary_data);
    c[2] = s_age (cm->metadata->creation_timestamp, now);
    return 3;
}

static size_t s_secret_cells (const Hs__Secret *sec, int64_t now, char **c)
{
    c[0] = hs_strdup (sec->metadata->name);
    c[1] = hs_strdup (hs_empty (sec->type) ? "Opaque" : sec->type);
    c[2] = hs_sprintf ("%zu", sec->n_data);
    c[3] = s_age (sec->metadata->creation_timestamp, now);
    return 4;
}

/* One metric of TARGETS, "<name>: <current>/<target>", as kubectl 1.32's
 * formatHPAMetrics: an averageValue target compares values, else
 * utilization percentages ("<unknown>" before the first reading, "<auto>"
 * without a target). */
static void s_hpa_metric (hs_buf_t *b, const char *name, const Hs__MetricTarget *t,
                          const Hs__MetricValueStatus *cur)
{
    if (t && !hs_empty (t->average_value)) {
        /* a status without the value: Go prints a zero Quantity as "0" */
        const char *now = !cur                            ? "<unknown>"
                          : hs_empty (cur->average_value) ? "0"
                                                          : cur->average_value;
        hs_buf_printf (b, "%s: %s/%s", hs_s (name), now, t->average_value);
        return;
    }
    char c[16] = "<unknown>", g[16] = "<auto>";
    if (cur && cur->average_utilization)
        snprintf (c, sizeof c, "%d%%", cur->average_utilization->value);
    if (t && t->average_utilization) snprintf (g, sizeof g, "%d%%", t->average_utilization->value);
    hs_buf_printf (b, "%s: %s/%s", hs_s (name), c, g);
}

char *ctl_hpa_targets (const Hs__HorizontalPodAutoscaler *h)
{
    const Hs__HorizontalPodAutoscalerSpec *s = h->spec;
    const Hs__HorizontalPodAutoscalerStatus *st = h->status;
    size_t n = s ? s->n_metrics : 0, shown = 0;
    if (n == 0) return hs_strdup ("<none>");
    hs_buf_t b = {0};
    for (size_t i = 0; i < n && shown < 2; i++, shown++) {
        const Hs__MetricSpec *m = s->metrics[i];
        const Hs__MetricStatus *ms =
            st && i < st->n_current_metrics ? st->current_metrics[i] : NULL;
        if (shown) hs_buf_puts (&b, ", ");
        if (hs_streq (m->type, "Resource") && m->resource)
            s_hpa_metric (&b, m->resource->name, m->resource->target,
                          ms && ms->resource ? ms->resource->current : NULL);
        else if (hs_streq (m->type, "ContainerResource") && m->container_resource)
            s_hpa_metric (&b, m->container_resource->name, m->container_resource->target,
                          ms && ms->container_resource ? ms->container_resource->current : NULL);
        else
            hs_buf_puts (&b, "<unknown type>");
    }
    if (n > 2) hs_buf_printf (&b, " + %zu more...", n - 2);
    return hs_buf_take (&b);
}

/* kubectl's HPA row: REFERENCE Kind/name, MINPODS "<unset>" when unset. */
static size_t s_hpa_cells (const Hs__HorizontalPodAutoscaler *h, int64_t now, char **c)
{
    const Hs__HorizontalPodAutoscalerSpec *s = h->spec;
    const Hs__CrossVersionObjectReference *ref = s ? s->scale_target_ref : NULL;
    c[0] = hs_strdup (h->metadata->name);
    c[1] = hs_sprintf ("%s/%s", ref ? hs_s (ref->kind) : "", ref ? hs_s (ref->name) : "");
    c[2] = ctl_hpa_targets (h);
    c[3] = s && s->min_replicas ? hs_sprintf ("%d", s->min_replicas->value) : hs_strdup ("<unset>");
    c[4] = hs_sprintf ("%d", s ? s->max_replicas : 0);
    c[5] = hs_sprintf ("%d", h->status ? h->status->current_replicas : 0);
    c[6] = s_age (h->metadata->creation_timestamp, now);
    return 7;
}

static char *s_lower (const char *s)
{
    char *d = hs_strdup (hs_s (s));
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return d;
}

static size_t s_event_cells (const Hs__Event *e, bool wide, int64_t now, char **c)
{
    const Hs__ObjectReference *io = e->involved_object;
    c[0] = s_age (s_event_last (e), now);
    c[1] = hs_strdup (e->type);
    c[2] = hs_strdup (e->reason);
    char *kind = s_lower (io ? io->kind : "");
    c[3] = io && !hs_empty (io->name) ? hs_sprintf ("%s/%s", kind, io->name) : hs_strdup (kind);
    free (kind);
    if (!wide) {
        c[4] = hs_strdup (e->message);
        return 5;
    }
    c[4] = hs_strdup (io ? io->field_path : "");
    c[5] = hs_strdup (e->source && !hs_empty (e->source->component) ? e->source->component
                                                                    : e->reporting_component);
    c[6] = hs_strdup (e->message);
    c[7] = s_age (e->first_timestamp ? e->first_timestamp : s_event_last (e), now);
    c[8] = hs_sprintf ("%d", e->count ? e->count : 1);
    c[9] = hs_strdup (e->metadata->name);
    return 10;
}

size_t ctl_cells (const Hs__Object *o, bool wide, int64_t now, char **c)
{
    if (!hs_obj_meta (o)) {
        c[0] = hs_strdup ("");
        return 1;
    }
    switch (hs_obj_kind (o)) {
    case HS_KIND_POD: return s_pod_cells (o->pod, wide, now, c);
    case HS_KIND_NODE: return s_node_cells (o->node, wide, now, c);
    case HS_KIND_REPLICASET: return s_rs_cells (o->replica_set, wide, now, c);
    case HS_KIND_DEPLOYMENT: return s_deploy_cells (o->deployment, wide, now, c);
    case HS_KIND_JOB: return s_job_cells (o->job, wide, now, c);
    case HS_KIND_EVENT: return s_event_cells (o->event, wide, now, c);
    case HS_KIND_SERVICE: return s_svc_cells (o->service, wide, now, c);
    case HS_KIND_ENDPOINTS: return s_ep_cells (o->endpoints, now, c);
    case HS_KIND_CONFIGMAP: return s_cm_cells (o->config_map, now, c);
    case HS_KIND_SECRET: return s_secret_cells (o->secret, now, c);
    case HS_KIND_HPA: return s_hpa_cells (o->horizontal_pod_autoscaler, now, c);
    default: c[0] = hs_strdup (hs_obj_meta (o)->name); return 1;
    }
}

char *ctl_table_text (hs_kind_t kind, const Hs__Object *const *objs, size_t n,
                      const ctl_list_opts_t *opts, int64_t now)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    bool ns_col = opts->all_ns && info && info->namespaced;
    hs_buf_t b = {0};
    char *cells[CTL_MAX_COLS + 2];
    if (!opts->no_headers) {
        const char *h[CTL_MAX_COLS];
        size_t nh = ctl_columns (kind, opts->wide, h), k = 0;
        if (ns_col) cells[k++] = (char *)"NAMESPACE";
        for (size_t i = 0; i < nh; i++) cells[k++] = (char *)h[i];
        if (opts->show_labels) cells[k++] = (char *)"LABELS";
        ctl_row_append (&b, cells, k);
    }
    for (size_t i = 0; i < n; i++) {
        const Hs__ObjectMeta *m = hs_obj_meta (objs[i]);
        size_t k = 0;
        if (ns_col) cells[k++] = hs_strdup (m ? m->namespace_ : "");
        size_t nc = ctl_cells (objs[i], opts->wide, now, cells + k);
        /* the NAME column (events have theirs elsewhere) */
        if (opts->kind_prefix && kind != HS_KIND_EVENT && m) {
            free (cells[k]);
            cells[k] = hs_obj_ref (kind, m->name);
        }
        k += nc;
        if (opts->show_labels)
            cells[k++] =
                m ? ctl_labels_str ((void *const *)m->labels, m->n_labels) : hs_strdup ("<none>");
        ctl_row_append (&b, cells, k);
        for (size_t j = 0; j < k; j++) free (cells[j]);
    }
    if (!b.data) return hs_strdup ("");
    return hs_buf_take (&b);
}

char *ctl_table_render (hs_kind_t kind, const Hs__Object *const *objs, size_t n,
                        const ctl_list_opts_t *opts, int64_t now)
{
    _cleanup_free_ char *text = ctl_table_text (kind, objs, n, opts, now);
    return ctl_tabwrite (text, 6, 3);
}

/* ------------------------------------------------------------ ordering */

static int s_obj_cmp (const void *a, const void *b)
{
    const Hs__Object *x = *(const Hs__Object *const *)a, *y = *(const Hs__Object *const *)b;
    if (hs_obj_kind (x) != hs_obj_kind (y)) return (int)hs_obj_kind (x) - (int)hs_obj_kind (y);
    if (hs_obj_kind (x) == HS_KIND_EVENT && x->event && y->event) {
        int64_t lx = s_event_last (x->event), ly = s_event_last (y->event);
        if (lx != ly) return lx < ly ? -1 : 1;
    }
    const Hs__ObjectMeta *mx = hs_obj_meta (x), *my = hs_obj_meta (y);
    int r = strcmp (mx ? hs_s (mx->namespace_) : "", my ? hs_s (my->namespace_) : "");
    if (r) return r;
    return strcmp (mx ? hs_s (mx->name) : "", my ? hs_s (my->name) : "");
}

void ctl_sort_objects (const Hs__Object **objs, size_t n)
{
    if (n > 1) qsort (objs, n, sizeof (*objs), s_obj_cmp);
}
