/*  ctl_describe_fmt.c: `hsctl describe` text, following kubectl's describers
 *  line for line where our object model has the field. Pure: the object and
 *  the objects around it (events, pods, replica sets) in, text out.
 */
#include "ctl_fmt.h"
#include "hs_podsec.h"
#include "hs_quantity.h"
#include "hs_workload.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ prefix writer */

/* kubectl's PrefixWriter over a tabwriter(0, 8, 2, ' ', 0): lines are
 * collected and aligned per flushed section. */
typedef struct {
    hs_buf_t done;
    hs_buf_t cur;
    int64_t now;
} s_w_t;

static void s_write (s_w_t *w, int level, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static void s_write (s_w_t *w, int level, const char *fmt, ...)
{
    for (int i = 0; i < level; i++) hs_buf_puts (&w->cur, "  ");
    va_list ap;
    va_start (ap, fmt);
    char *s = NULL;
    if (vasprintf (&s, fmt, ap) < 0) s = NULL;
    va_end (ap);
    hs_buf_puts (&w->cur, hs_s (s));
    free (s);
}

static void s_flush (s_w_t *w)
{
    if (!w->cur.len) return;
    _cleanup_free_ char *text = hs_buf_take (&w->cur);
    _cleanup_free_ char *out = ctl_tabwrite (text, 0, 2);
    hs_buf_puts (&w->done, out);
}

static const char *s_time (int64_t ns, char *buf, size_t len)
{
    if (!ns) return "<unset>";
    return ctl_fmt_rfc1123 (ns, buf, len);
}

static const char *s_age (s_w_t *w, int64_t since, char *buf, size_t len)
{
    return hs_fmt_age (since, w->now, buf, len);
}

static const char *s_bool (bool b)
{
    return b ? "True" : "False";
}

/* ------------------------------------------------------------ shared pieces */

#define S_LAST_APPLIED       "kubectl.kubernetes.io/last-applied-configuration"
#define S_MAX_ANNOTATION_LEN 140 /* kubectl's maxAnnotationLen */

/* One annotation as kubectl's printAnnotationsMultiline writes it: "k: v",
 * or, when long or over several lines, "k:" then each line indented and
 * cut at 138 bytes with "...". */
static void s_annotation (s_w_t *w, const char *indent, const char *key, const char *value)
{
    size_t len = strlen (value);
    if (len && value[len - 1] == '\n') len--;
    if (len + strlen (key) + 2 <= S_MAX_ANNOTATION_LEN && !memchr (value, '\n', len)) {
        s_write (w, 0, "%s: %.*s\n", key, (int)len, value);
        return;
    }
    s_write (w, 0, "%s:\n", key);
    for (const char *p = value, *end = value + len;;) {
        const char *nl = memchr (p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (n > S_MAX_ANNOTATION_LEN - 2)
            s_write (w, 0, "%s\t  %.*s...\n", indent, S_MAX_ANNOTATION_LEN - 2, p);
        else
            s_write (w, 0, "%s\t  %.*s\n", indent, (int)n, p);
        if (!nl) break;
        p = nl + 1;
    }
}

/* "Labels:  a=b" / "        c=d", or "<none>"; annotations use "k: v"
 * and leave out kubectl apply's last-applied-configuration, as kubectl
 * describe does. */
static void s_map_multiline (s_w_t *w, const char *indent, const char *title, void *const *entries,
                             size_t n, bool annotations)
{
    s_write (w, 0, "%s%s:\t", indent, title);
    const hs_pb_map_entry_t **sorted = n ? hs_pb_map_sorted (entries, n) : NULL;
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (annotations && hs_streq (sorted[i]->key, S_LAST_APPLIED)) continue;
        if (shown++) s_write (w, 0, "%s\t", indent);
        if (annotations)
            s_annotation (w, indent, sorted[i]->key, hs_s (sorted[i]->value));
        else
            s_write (w, 0, "%s=%s\n", sorted[i]->key, sorted[i]->value);
    }
    if (shown == 0) s_write (w, 0, "<none>\n");
    free (sorted);
}

static void s_meta_maps (s_w_t *w, const Hs__ObjectMeta *m)
{
    s_map_multiline (w, "", "Labels", (void *const *)m->labels, m->n_labels, false);
    s_map_multiline (w, "", "Annotations", (void *const *)m->annotations, m->n_annotations, true);
}

static void s_controlled_by (s_w_t *w, const Hs__ObjectMeta *m)
{
    const Hs__OwnerReference *r = hs_controller_ref (m);
    if (r) s_write (w, 0, "Controlled By:\t%s/%s\n", r->kind, r->name);
}

static void s_tolerations (s_w_t *w, const char *indent, Hs__Toleration **t, size_t n)
{
    s_write (w, 0, "%sTolerations:\t", indent);
    if (n == 0) {
        s_write (w, 0, "<none>\n");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i) s_write (w, 0, "%s\t", indent);
        s_write (w, 0, "%s", t[i]->key);
        if (!hs_empty (t[i]->value)) s_write (w, 0, "=%s", t[i]->value);
        if (!hs_empty (t[i]->effect)) s_write (w, 0, ":%s", t[i]->effect);
        if (hs_streq (t[i]->operator_, "Exists") && hs_empty (t[i]->value)) {
            if (!hs_empty (t[i]->key) || !hs_empty (t[i]->effect)) s_write (w, 0, " ");
            s_write (w, 0, "op=Exists");
        }
        if (t[i]->toleration_seconds)
            s_write (w, 0, " for %llds", (long long)t[i]->toleration_seconds->value);
        s_write (w, 0, "\n");
    }
}

static void s_probe (s_w_t *w, const char *title, const Hs__Probe *p)
{
    if (!p) return;
    char attrs[160];
    snprintf (attrs, sizeof attrs, "delay=%ds timeout=%ds period=%ds #success=%d #failure=%d",
              p->initial_delay_seconds, p->timeout_seconds ? p->timeout_seconds : 1,
              p->period_seconds ? p->period_seconds : 10,
              p->success_threshold ? p->success_threshold : 1,
              p->failure_threshold ? p->failure_threshold : 3);
    if (p->exec) {
        hs_buf_t b = {0};
        for (size_t i = 0; i < p->exec->n_command; i++)
            hs_buf_printf (&b, "%s%s", i ? " " : "", p->exec->command[i]);
        _cleanup_free_ char *cmd = hs_buf_take (&b);
        s_write (w, 2, "%s:\texec [%s] %s\n", title, cmd, attrs);
    } else if (p->http_get) {
        const Hs__HTTPGetAction *h = p->http_get;
        char scheme[16];
        snprintf (scheme, sizeof scheme, "%s", hs_empty (h->scheme) ? "http" : h->scheme);
        for (char *c = scheme; *c; c++)
            if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
        s_write (w, 2, "%s:\thttp-get %s://%s%s%s%s %s\n", title, scheme, hs_s (h->host),
                 hs_empty (h->port) ? "" : ":", hs_s (h->port), hs_s (h->path), attrs);
    } else if (p->tcp_socket)
        s_write (w, 2, "%s:\ttcp-socket %s:%s %s\n", title, hs_s (p->tcp_socket->host),
                 hs_s (p->tcp_socket->port), attrs);
    else
        s_write (w, 2, "%s:\tunknown %s\n", title, attrs);
}

static void s_state (s_w_t *w, const char *name, const Hs__ContainerState *s)
{
    char buf[64];
    if (s && s->running) {
        s_write (w, 2, "%s:\tRunning\n", name);
        s_write (w, 3, "Started:\t%s\n", s_time (s->running->started_at, buf, sizeof buf));
    } else if (s && s->waiting) {
        s_write (w, 2, "%s:\tWaiting\n", name);
        if (!hs_empty (s->waiting->reason)) s_write (w, 3, "Reason:\t%s\n", s->waiting->reason);
    } else if (s && s->terminated) {
        const Hs__ContainerStateTerminated *t = s->terminated;
        s_write (w, 2, "%s:\tTerminated\n", name);
        if (!hs_empty (t->reason)) s_write (w, 3, "Reason:\t%s\n", t->reason);
        if (!hs_empty (t->message)) s_write (w, 3, "Message:\t%s\n", t->message);
        s_write (w, 3, "Exit Code:\t%d\n", t->exit_code);
        if (t->signal > 0) s_write (w, 3, "Signal:\t%d\n", t->signal);
        s_write (w, 3, "Started:\t%s\n", s_time (t->started_at, buf, sizeof buf));
        s_write (w, 3, "Finished:\t%s\n", s_time (t->finished_at, buf, sizeof buf));
    } else
        s_write (w, 2, "%s:\tWaiting\n", name);
}

static void s_resource_list (s_w_t *w, const char *title, const Hs__ResourceList *r)
{
    if (!r || (hs_empty (r->cpu) && hs_empty (r->memory) && hs_empty (r->pods))) return;
    s_write (w, 2, "%s:\n", title);
    if (!hs_empty (r->cpu)) s_write (w, 3, "cpu:\t%s\n", r->cpu);
    if (!hs_empty (r->memory)) s_write (w, 3, "memory:\t%s\n", r->memory);
    if (!hs_empty (r->pods)) s_write (w, 3, "pods:\t%s\n", r->pods);
}

static char *s_ports (Hs__ContainerPort **ports, size_t n, bool host)
{
    hs_buf_t b = {0};
    for (size_t i = 0; i < n; i++) {
        int p = host ? ports[i]->host_port : ports[i]->container_port;
        hs_buf_printf (&b, "%s%d/%s", i ? ", " : "", p,
                       hs_empty (ports[i]->protocol) ? "TCP" : ports[i]->protocol);
    }
    return hs_buf_take (&b);
}

/* The container's effective hardening (hs_podsec.h): what hs-agent applies.
 * Keys no wider than "Environment", and no header line, so the
 * container's block keeps its alignment. */
static void s_security (s_w_t *w, const Hs__PodSpec *spec, const Hs__Container *c)
{
    hs_podsec_t s;
    hs_podsec_effective (spec, c, &s);
    hs_buf_t u = {0};
    if (s.has_uid)
        hs_buf_printf (&u, "%lld", (long long)s.uid);
    else
        hs_buf_puts (&u, "<unset> (the node agent's)");
    if (s.has_gid) hs_buf_printf (&u, ", group %lld", (long long)s.gid);
    for (size_t i = 0; i < s.n_groups; i++)
        hs_buf_printf (&u, "%s%lld", i ? "," : ", supplementary groups ", (long long)s.groups[i]);
    if (s.run_as_non_root) hs_buf_puts (&u, " (runAsNonRoot)");
    _cleanup_free_ char *user = hs_buf_take (&u);
    s_write (w, 2, "User:\t%s\n", user);
    _cleanup_free_ char *caps = hs_caps_fmt (s.caps);
    s_write (w, 2, "Caps:\t%s%s\n",
             s.caps == HS_CAPS_ALL          ? "ALL"
             : s.caps == hs_caps_default () ? "default: "
                                            : "",
             s.caps == HS_CAPS_ALL ? ""
             : *caps               ? caps
                                   : "<none>");
    /* Ambient only for a user other than root (a pod without runAsUser runs
     * as the agent, root on a normal node). */
    if (s.has_uid && s.uid != 0 && (s.caps_added & s.caps)) {
        _cleanup_free_ char *amb = hs_caps_fmt (s.caps_added & s.caps);
        s_write (w, 2, "Ambient:\t%s\n", amb);
    }
    if (s.seccomp == HS_SECCOMP_LOCALHOST)
        s_write (w, 2, "Seccomp:\tLocalhost/%s\n", hs_s (s.seccomp_localhost));
    else
        s_write (w, 2, "Seccomp:\t%s\n", hs_seccomp_name (s.seccomp));
    s_write (w, 2, "NoNewPrivs:\t%s\n", s_bool (s.no_new_privs));
    s_write (w, 2, "Root FS:\t%s\n", s.read_only_root ? "read-only" : "writable");
    s_write (w, 2, "Privileged:\t%s\n", s_bool (s.privileged));
}

static void s_containers (s_w_t *w, const char *space, const Hs__PodSpec *spec,
                          Hs__ContainerStatus **sts, size_t n_sts)
{
    Hs__Container **cs = spec ? spec->containers : NULL;
    size_t n = spec ? spec->n_containers : 0;
    s_write (w, 0, "%sContainers:\n", space);
    for (size_t i = 0; i < n; i++) {
        const Hs__Container *c = cs[i];
        const Hs__ContainerStatus *st = NULL;
        for (size_t j = 0; j < n_sts; j++)
            if (hs_streq (sts[j]->name, c->name)) st = sts[j];
        s_write (w, 1, "%s%s:\n", hs_empty (space) ? "" : " ", c->name);
        if (st) s_write (w, 2, "Container ID:\t%s\n", hs_s (st->container_id));
        s_write (w, 2, "Image:\t%s\n", hs_s (c->image));
        _cleanup_free_ char *ports = s_ports (c->ports, c->n_ports, false);
        _cleanup_free_ char *hports = s_ports (c->ports, c->n_ports, true);
        s_write (w, 2, "%s:\t%s\n", strchr (ports, ',') ? "Ports" : "Port",
                 *ports ? ports : "<none>");
        s_write (w, 2, "%s:\t%s\n", strchr (hports, ',') ? "Host Ports" : "Host Port",
                 *hports ? hports : "<none>");
        if (c->n_command) {
            s_write (w, 2, "Command:\n");
            for (size_t k = 0; k < c->n_command; k++) s_write (w, 3, "%s\n", c->command[k]);
        }
        if (c->n_args) {
            s_write (w, 2, "Args:\n");
            for (size_t k = 0; k < c->n_args; k++) s_write (w, 3, "%s\n", c->args[k]);
        }
        if (st) {
            s_state (w, "State", st->state);
            if (st->last_state && st->last_state->terminated)
                s_state (w, "Last State", st->last_state);
            s_write (w, 2, "Ready:\t%s\n", s_bool (st->ready));
            s_write (w, 2, "Restart Count:\t%d\n", st->restart_count);
        }
        if (c->resources) {
            s_resource_list (w, "Limits", c->resources->limits);
            s_resource_list (w, "Requests", c->resources->requests);
        }
        s_probe (w, "Liveness", c->liveness_probe);
        s_probe (w, "Readiness", c->readiness_probe);
        s_probe (w, "Startup", c->startup_probe);
        s_security (w, spec, c);
        s_write (w, 2, "Environment:%s\n", c->n_env ? "" : "\t<none>");
        for (size_t k = 0; k < c->n_env; k++)
            s_write (w, 3, "%s:\t%s\n", c->env[k]->name, hs_s (c->env[k]->value));
    }
}

static void s_pod_template (s_w_t *w, const Hs__PodTemplateSpec *t)
{
    s_write (w, 0, "Pod Template:\n");
    if (!t) {
        s_write (w, 1, "<unset>\n");
        return;
    }
    const Hs__ObjectMeta *m = t->metadata;
    s_map_multiline (w, "  ", "Labels", m ? (void *const *)m->labels : NULL, m ? m->n_labels : 0,
                     false);
    if (m && m->n_annotations)
        s_map_multiline (w, "  ", "Annotations", (void *const *)m->annotations, m->n_annotations,
                         true);
    const Hs__PodSpec *s = t->spec;
    s_containers (w, "  ", s, NULL, 0);
    s_map_multiline (w, "  ", "Node-Selectors", s ? (void *const *)s->node_selector : NULL,
                     s ? s->n_node_selector : 0, false);
    s_tolerations (w, "  ", s ? s->tolerations : NULL, s ? s->n_tolerations : 0);
}

static int64_t s_event_last (const Hs__Event *e)
{
    if (e->last_timestamp) return e->last_timestamp;
    if (e->first_timestamp) return e->first_timestamp;
    return e->metadata ? e->metadata->creation_timestamp : 0;
}

static int s_event_cmp (const void *a, const void *b)
{
    int64_t x = s_event_last ((*(const Hs__Object *const *)a)->event);
    int64_t y = s_event_last ((*(const Hs__Object *const *)b)->event);
    return x < y ? -1 : x > y;
}

static void s_events (s_w_t *w, const Hs__Object *o, const Hs__Object *const *rel, size_t n)
{
    const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (o));
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    const Hs__Object **evs = hs_calloc (n + 1, sizeof (*evs));
    size_t ne = 0;
    for (size_t i = 0; i < n; i++) {
        if (hs_obj_kind (rel[i]) != HS_KIND_EVENT || !rel[i]->event) continue;
        const Hs__ObjectReference *io = rel[i]->event->involved_object;
        if (!io || strcasecmp (hs_s (io->kind), info->kind_name)) continue;
        if (!hs_streq (io->name, m->name)) continue;
        if (info->namespaced && !hs_streq (io->namespace_, m->namespace_)) continue;
        if (!hs_empty (io->uid) && !hs_empty (m->uid) && !hs_streq (io->uid, m->uid)) continue;
        evs[ne++] = rel[i];
    }
    if (ne == 0) {
        s_write (w, 0, "Events:\t<none>\n");
        free (evs);
        return;
    }
    s_flush (w);
    qsort (evs, ne, sizeof (*evs), s_event_cmp);
    s_write (w, 0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
    s_write (w, 1, "----\t------\t----\t----\t-------\n");
    for (size_t i = 0; i < ne; i++) {
        const Hs__Event *e = evs[i]->event;
        char first[32], last[32], interval[96];
        int64_t f = e->first_timestamp ? e->first_timestamp : s_event_last (e);
        s_age (w, f, first, sizeof first);
        if (e->count > 1)
            snprintf (interval, sizeof interval, "%s (x%d over %s)",
                      s_age (w, s_event_last (e), last, sizeof last), e->count, first);
        else
            snprintf (interval, sizeof interval, "%s", first);
        const char *from = e->source && !hs_empty (e->source->component) ? e->source->component
                                                                         : e->reporting_component;
        /* one line per event: a newline in the message would break the table */
        _cleanup_free_ char *msg = hs_strdup (hs_s (e->message));
        for (char *c = msg; *c; c++)
            if (*c == '\n' || *c == '\t') *c = ' ';
        s_write (w, 1, "%s\t%s\t%s\t%s\t%s\n", hs_s (e->type), hs_s (e->reason), interval,
                 hs_s (from), msg);
    }
    free (evs);
}

/* Pods controlled by (or, without owner refs, selected by) a workload. */
static bool s_pod_belongs (const Hs__Pod *p, const Hs__ObjectMeta *owner,
                           const Hs__LabelSelector *sel)
{
    const Hs__ObjectMeta *m = p->metadata;
    if (!m || !hs_streq (m->namespace_, owner->namespace_)) return false;
    if (hs_controller_ref (m)) return hs_controlled_by (m, owner->uid);
    return ctl_label_selector_matches (sel, (void *const *)m->labels, m->n_labels);
}

static void s_pod_phases (const Hs__Object *const *rel, size_t n, const Hs__ObjectMeta *owner,
                          const Hs__LabelSelector *sel, int counts[4])
{
    for (size_t i = 0; i < n; i++) {
        if (hs_obj_kind (rel[i]) != HS_KIND_POD || !s_pod_belongs (rel[i]->pod, owner, sel))
            continue;
        const char *ph = rel[i]->pod->status ? rel[i]->pod->status->phase : "";
        if (hs_streq (ph, "Running"))
            counts[0]++;
        else if (hs_streq (ph, "Succeeded"))
            counts[2]++;
        else if (hs_streq (ph, "Failed"))
            counts[3]++;
        else
            counts[1]++;
    }
}

/* ------------------------------------------------------------ per kind */

static const char *s_qos (const Hs__PodSpec *s)
{
    bool any = false, guaranteed = true;
    for (size_t i = 0; s && i < s->n_containers; i++) {
        const Hs__ResourceRequirements *r = s->containers[i]->resources;
        const Hs__ResourceList *l = r ? r->limits : NULL, *q = r ? r->requests : NULL;
        if ((l && (!hs_empty (l->cpu) || !hs_empty (l->memory))) ||
            (q && (!hs_empty (q->cpu) || !hs_empty (q->memory))))
            any = true;
        if (!l || hs_empty (l->cpu) || hs_empty (l->memory)) {
            guaranteed = false;
            continue;
        }
        int64_t a, b;
        if (q && !hs_empty (q->cpu) &&
            (hs_quantity_cpu_milli (q->cpu, &a) < 0 || hs_quantity_cpu_milli (l->cpu, &b) < 0 ||
             a != b))
            guaranteed = false;
        if (q && !hs_empty (q->memory) &&
            (hs_quantity_bytes (q->memory, &a) < 0 || hs_quantity_bytes (l->memory, &b) < 0 ||
             a != b))
            guaranteed = false;
    }
    if (!any) return "BestEffort";
    return guaranteed ? "Guaranteed" : "Burstable";
}

static void s_describe_pod (s_w_t *w, const Hs__Pod *p, const Hs__Object *o,
                            const Hs__Object *const *rel, size_t n)
{
    const Hs__ObjectMeta *m = p->metadata;
    const Hs__PodSpec *s = p->spec;
    const Hs__PodStatus *st = p->status;
    char buf[64], age[32];
    s_write (w, 0, "Name:\t%s\n", m->name);
    s_write (w, 0, "Namespace:\t%s\n", m->namespace_);
    s_write (w, 0, "Priority:\t%d\n", s ? s->priority : 0);
    if (!s || hs_empty (s->node_name))
        s_write (w, 0, "Node:\t<none>\n");
    else if (st && !hs_empty (st->host_ip))
        s_write (w, 0, "Node:\t%s/%s\n", s->node_name, st->host_ip);
    else
        s_write (w, 0, "Node:\t%s\n", s->node_name);
    if (st && st->start_time)
        s_write (w, 0, "Start Time:\t%s\n", ctl_fmt_rfc1123 (st->start_time, buf, sizeof buf));
    s_meta_maps (w, m);
    if (m->deletion_timestamp) {
        s_write (w, 0, "Status:\tTerminating (lasts %s)\n",
                 s_age (w, m->deletion_timestamp, age, sizeof age));
        if (m->deletion_grace_period_seconds)
            s_write (w, 0, "Termination Grace Period:\t%llds\n",
                     (long long)m->deletion_grace_period_seconds->value);
    } else
        s_write (w, 0, "Status:\t%s\n", st && !hs_empty (st->phase) ? st->phase : "Pending");
    if (st && !hs_empty (st->reason)) s_write (w, 0, "Reason:\t%s\n", st->reason);
    if (st && !hs_empty (st->message)) s_write (w, 0, "Message:\t%s\n", st->message);
    s_write (w, 0, "IP:\t%s\n", st ? hs_s (st->pod_ip) : "");
    s_controlled_by (w, m);
    s_containers (w, "", s, st ? st->container_statuses : NULL, st ? st->n_container_statuses : 0);
    if (st && st->n_conditions) {
        s_write (w, 0, "Conditions:\n  Type\tStatus\n");
        for (size_t i = 0; i < st->n_conditions; i++)
            s_write (w, 1, "%s \t%s \n", st->conditions[i]->type, st->conditions[i]->status);
    }
    s_write (w, 0, "QoS Class:\t%s\n", s_qos (s));
    s_map_multiline (w, "", "Node-Selectors", s ? (void *const *)s->node_selector : NULL,
                     s ? s->n_node_selector : 0, false);
    s_tolerations (w, "", s ? s->tolerations : NULL, s ? s->n_tolerations : 0);
    s_events (w, o, rel, n);
}

/* cpu requests, cpu limits, memory requests, memory limits */
static void s_pod_resources (const Hs__Pod *p, int64_t r[4])
{
    hs_resources_t req, lim;
    hs_pod_requests (p, &req);
    hs_pod_limits (p, &lim);
    r[0] = req.cpu_milli;
    r[1] = lim.cpu_milli;
    r[2] = req.mem_bytes;
    r[3] = lim.mem_bytes;
}

/* v as a percentage of of (0 when of is unknown); 128-bit, as saturated
 * sums times 100 do not fit in 64. */
static int s_pct (int64_t v, int64_t of)
{
    if (of <= 0) return 0;
    __int128 p = (__int128)v * 100 / of;
    return p > INT32_MAX ? INT32_MAX : p < INT32_MIN ? INT32_MIN : (int)p;
}

static void s_describe_node (s_w_t *w, const Hs__Node *nd, const Hs__Object *o,
                             const Hs__Object *const *rel, size_t n)
{
    const Hs__ObjectMeta *m = nd->metadata;
    const Hs__NodeStatus *st = nd->status;
    char buf[64], buf2[64];
    s_write (w, 0, "Name:\t%s\n", m->name);
    _cleanup_free_ char *roles = ctl_node_roles (nd);
    s_write (w, 0, "Roles:\t%s\n", roles);
    s_meta_maps (w, m);
    s_write (w, 0, "CreationTimestamp:\t%s\n", s_time (m->creation_timestamp, buf, sizeof buf));
    s_write (w, 0, "Taints:\t");
    if (!nd->spec || nd->spec->n_taints == 0) s_write (w, 0, "<none>\n");
    for (size_t i = 0; nd->spec && i < nd->spec->n_taints; i++) {
        const Hs__Taint *t = nd->spec->taints[i];
        if (i) s_write (w, 0, "\t");
        s_write (w, 0, "%s%s%s:%s\n", t->key, hs_empty (t->value) ? "" : "=", hs_s (t->value),
                 t->effect);
    }
    s_write (w, 0, "Unschedulable:\t%s\n", nd->spec && nd->spec->unschedulable ? "true" : "false");
    if (st && st->n_conditions) {
        s_write (w, 0,
                 "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\t"
                 "Reason\tMessage\n");
        s_write (w, 1, "----\t------\t-----------------\t------------------\t------\t-------\n");
        for (size_t i = 0; i < st->n_conditions; i++) {
            const Hs__NodeCondition *c = st->conditions[i];
            s_write (w, 1, "%s \t%s \t%s \t%s \t%s \t%s\n", c->type, c->status,
                     s_time (c->last_heartbeat_time, buf, sizeof buf),
                     s_time (c->last_transition_time, buf2, sizeof buf2), hs_s (c->reason),
                     hs_s (c->message));
        }
    }
    s_write (w, 0, "Addresses:\n");
    for (size_t i = 0; st && i < st->n_addresses; i++)
        s_write (w, 1, "%s:\t%s\n", st->addresses[i]->type, st->addresses[i]->address);
    if (st && st->capacity) {
        s_write (w, 0, "Capacity:\n");
        if (!hs_empty (st->capacity->cpu)) s_write (w, 1, "cpu:\t%s\n", st->capacity->cpu);
        if (!hs_empty (st->capacity->memory)) s_write (w, 1, "memory:\t%s\n", st->capacity->memory);
        if (!hs_empty (st->capacity->pods)) s_write (w, 1, "pods:\t%s\n", st->capacity->pods);
    }
    const Hs__ResourceList *alloc = st ? st->allocatable : NULL;
    if (alloc) {
        s_write (w, 0, "Allocatable:\n");
        if (!hs_empty (alloc->cpu)) s_write (w, 1, "cpu:\t%s\n", alloc->cpu);
        if (!hs_empty (alloc->memory)) s_write (w, 1, "memory:\t%s\n", alloc->memory);
        if (!hs_empty (alloc->pods)) s_write (w, 1, "pods:\t%s\n", alloc->pods);
    }
    if (st && st->node_info) {
        const Hs__NodeSystemInfo *ni = st->node_info;
        s_write (w, 0, "System Info:\n");
        s_write (w, 1, "Machine ID:\t%s\n", hs_s (ni->machine_id));
        s_write (w, 1, "Kernel Version:\t%s\n", hs_s (ni->kernel_version));
        s_write (w, 1, "OS Image:\t%s\n", hs_s (ni->os_image));
        s_write (w, 1, "Architecture:\t%s\n", hs_s (ni->architecture));
        s_write (w, 1, "Agent Version:\t%s\n", hs_s (ni->agent_version));
    }
    if (nd->spec && !hs_empty (nd->spec->pod_cidr))
        s_write (w, 0, "PodCIDR:\t%s\n", nd->spec->pod_cidr);
    if (nd->spec && nd->spec->n_pod_cidrs) {
        s_write (w, 0, "PodCIDRs:\t");
        for (size_t i = 0; i < nd->spec->n_pod_cidrs; i++)
            s_write (w, 0, "%s%s", i ? "," : "", nd->spec->pod_cidrs[i]);
        s_write (w, 0, "\n");
    }

    /* the percentages are of what the node has for pods: allocatable, else
     * capacity (unknown: 0%) */
    hs_resources_t has;
    hs_node_allocatable (nd, &has);
    int64_t cap_cpu = has.cpu_milli, cap_mem = has.mem_bytes;
    size_t npods = 0;
    for (size_t i = 0; i < n; i++) {
        const Hs__Pod *p = hs_obj_kind (rel[i]) == HS_KIND_POD ? rel[i]->pod : NULL;
        if (p && p->spec && hs_streq (p->spec->node_name, m->name) && !hs_pod_terminal (p)) npods++;
    }
    s_write (w, 0, "Non-terminated Pods:\t(%zu in total)\n", npods);
    s_write (w, 1,
             "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory "
             "Limits\tAge\n");
    s_write (w, 1,
             "---------\t----\t\t------------\t----------\t---------------\t-------------"
             "\t---\n");
    int64_t total[4] = {0};
    for (size_t i = 0; i < n; i++) {
        const Hs__Pod *p = hs_obj_kind (rel[i]) == HS_KIND_POD ? rel[i]->pod : NULL;
        if (!p || !p->spec || !hs_streq (p->spec->node_name, m->name) || hs_pod_terminal (p))
            continue;
        int64_t r[4];
        s_pod_resources (p, r);
        for (int k = 0; k < 4; k++) total[k] = hs_sat_add (total[k], r[k]);
        _cleanup_free_ char *c0 = hs_quantity_fmt_cpu (r[0]);
        _cleanup_free_ char *c1 = hs_quantity_fmt_cpu (r[1]);
        _cleanup_free_ char *m0 = hs_quantity_fmt_bytes (r[2]);
        _cleanup_free_ char *m1 = hs_quantity_fmt_bytes (r[3]);
        char age[32];
        s_write (w, 1, "%s\t%s\t\t%s (%d%%)\t%s (%d%%)\t%s (%d%%)\t%s (%d%%)\t%s\n",
                 p->metadata->namespace_, p->metadata->name, c0, s_pct (r[0], cap_cpu), c1,
                 s_pct (r[1], cap_cpu), m0, s_pct (r[2], cap_mem), m1, s_pct (r[3], cap_mem),
                 s_age (w, p->metadata->creation_timestamp, age, sizeof age));
    }
    s_write (w, 0,
             "Allocated resources:\n  (Total limits may be over 100 percent, i.e., "
             "overcommitted.)\n");
    s_write (w, 1, "Resource\tRequests\tLimits\n");
    s_write (w, 1, "--------\t--------\t------\n");
    _cleanup_free_ char *c0 = hs_quantity_fmt_cpu (total[0]);
    _cleanup_free_ char *c1 = hs_quantity_fmt_cpu (total[1]);
    _cleanup_free_ char *m0 = hs_quantity_fmt_bytes (total[2]);
    _cleanup_free_ char *m1 = hs_quantity_fmt_bytes (total[3]);
    s_write (w, 1, "cpu\t%s (%d%%)\t%s (%d%%)\n", c0, s_pct (total[0], cap_cpu), c1,
             s_pct (total[1], cap_cpu));
    s_write (w, 1, "memory\t%s (%d%%)\t%s (%d%%)\n", m0, s_pct (total[2], cap_mem), m1,
             s_pct (total[3], cap_mem));
    s_events (w, o, rel, n);
}

static void s_conditions3 (s_w_t *w, size_t n, const char *(*get) (const void *, int),
                           void *const *items)
{
    if (n == 0) return;
    s_write (w, 0, "Conditions:\n  Type\tStatus\tReason\n");
    s_write (w, 1, "----\t------\t------\n");
    for (size_t i = 0; i < n; i++)
        s_write (w, 1, "%s \t%s\t%s\n", get (items[i], 0), get (items[i], 1), get (items[i], 2));
}

static const char *s_rs_cond (const void *c, int f)
{
    const Hs__ReplicaSetCondition *x = c;
    return f == 0 ? x->type : f == 1 ? x->status : x->reason;
}

static const char *s_deploy_cond (const void *c, int f)
{
    const Hs__DeploymentCondition *x = c;
    return f == 0 ? x->type : f == 1 ? x->status : x->reason;
}

static void s_describe_rs (s_w_t *w, const Hs__ReplicaSet *r, const Hs__Object *o,
                           const Hs__Object *const *rel, size_t n)
{
    const Hs__ObjectMeta *m = r->metadata;
    const Hs__LabelSelector *sel = r->spec ? r->spec->selector : NULL;
    s_write (w, 0, "Name:\t%s\n", m->name);
    s_write (w, 0, "Namespace:\t%s\n", m->namespace_);
    _cleanup_free_ char *sels = ctl_label_selector_str (sel);
    s_write (w, 0, "Selector:\t%s\n", sels);
    s_meta_maps (w, m);
    s_controlled_by (w, m);
    s_write (w, 0, "Replicas:\t%d current / %d desired\n", r->status ? r->status->replicas : 0,
             r->spec && r->spec->replicas ? r->spec->replicas->value : 1);
    int c[4] = {0};
    s_pod_phases (rel, n, m, sel, c);
    s_write (w, 0, "Pods Status:\t%d Running / %d Waiting / %d Succeeded / %d Failed\n", c[0], c[1],
             c[2], c[3]);
    s_pod_template (w, r->spec ? r->spec->template_ : NULL);
    if (r->status)
        s_conditions3 (w, r->status->n_conditions, s_rs_cond, (void *const *)r->status->conditions);
    s_events (w, o, rel, n);
}

static int64_t s_revision_of (const Hs__ObjectMeta *m)
{
    const char *v = hs_pb_map_get ((void *const *)m->annotations, m->n_annotations,
                                   "deployment.kubernetes.io/revision");
    int64_t r = 0;
    if (v && hs_parse_i64 (v, &r) < 0) r = 0;
    return r;
}

static void s_rs_list (hs_buf_t *b, const Hs__ReplicaSet *r)
{
    hs_buf_printf (b, "%s%s (%d/%d replicas created)", b->len ? ", " : "", r->metadata->name,
                   r->status ? r->status->replicas : 0,
                   r->spec && r->spec->replicas ? r->spec->replicas->value : 1);
}

/* o as a ReplicaSet the object with this uid controls, or NULL. */
static const Hs__ReplicaSet *s_owned_rs (const Hs__Object *o, const char *owner_uid)
{
    if (hs_obj_kind (o) != HS_KIND_REPLICASET) return NULL;
    return hs_controlled_by (o->replica_set->metadata, owner_uid) ? o->replica_set : NULL;
}

static void s_describe_deploy (s_w_t *w, const Hs__Deployment *d, const Hs__Object *o,
                               const Hs__Object *const *rel, size_t n)
{
    const Hs__ObjectMeta *m = d->metadata;
    const Hs__DeploymentSpec *s = d->spec;
    const Hs__DeploymentStatus *st = d->status;
    char buf[64];
    s_write (w, 0, "Name:\t%s\n", m->name);
    s_write (w, 0, "Namespace:\t%s\n", m->namespace_);
    s_write (w, 0, "CreationTimestamp:\t%s\n", s_time (m->creation_timestamp, buf, sizeof buf));
    s_meta_maps (w, m);
    _cleanup_free_ char *sels = ctl_label_selector_str (s ? s->selector : NULL);
    s_write (w, 0, "Selector:\t%s\n", sels);
    s_write (
        w, 0, "Replicas:\t%d desired | %d updated | %d total | %d available | %d unavailable\n",
        s && s->replicas ? s->replicas->value : 1, st ? st->updated_replicas : 0,
        st ? st->replicas : 0, st ? st->available_replicas : 0, st ? st->unavailable_replicas : 0);
    const Hs__DeploymentStrategy *strat = s ? s->strategy : NULL;
    const char *type = strat && !hs_empty (strat->type) ? strat->type : "RollingUpdate";
    s_write (w, 0, "StrategyType:\t%s\n", type);
    s_write (w, 0, "MinReadySeconds:\t%d\n", s ? s->min_ready_seconds : 0);
    if (!strcmp (type, "RollingUpdate")) {
        const Hs__RollingUpdateDeployment *ru = strat ? strat->rolling_update : NULL;
        s_write (w, 0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n",
                 ru && !hs_empty (ru->max_unavailable) ? ru->max_unavailable : "25%",
                 ru && !hs_empty (ru->max_surge) ? ru->max_surge : "25%");
    }
    s_pod_template (w, s ? s->template_ : NULL);
    if (st) s_conditions3 (w, st->n_conditions, s_deploy_cond, (void *const *)st->conditions);
    /* its ReplicaSets: the newest revision is the new one */
    const Hs__ReplicaSet *newest = NULL;
    for (size_t i = 0; i < n; i++) {
        const Hs__ReplicaSet *r = s_owned_rs (rel[i], m->uid);
        if (!r) continue;
        if (!newest || s_revision_of (r->metadata) > s_revision_of (newest->metadata) ||
            (s_revision_of (r->metadata) == s_revision_of (newest->metadata) &&
             r->metadata->creation_timestamp > newest->metadata->creation_timestamp))
            newest = r;
    }
    hs_buf_t olds = {0}, news = {0};
    for (size_t i = 0; i < n; i++) {
        const Hs__ReplicaSet *r = s_owned_rs (rel[i], m->uid);
        if (!r) continue;
        if (r == newest)
            s_rs_list (&news, r);
        else if (r->status && r->status->replicas > 0)
            s_rs_list (&olds, r);
    }
    _cleanup_free_ char *o_text = olds.len ? hs_buf_take (&olds) : hs_strdup ("<none>");
    _cleanup_free_ char *n_text = news.len ? hs_buf_take (&news) : hs_strdup ("<none>");
    s_write (w, 0, "OldReplicaSets:\t%s\n", o_text);
    s_write (w, 0, "NewReplicaSet:\t%s\n", n_text);
    hs_buf_free (&olds);
    hs_buf_free (&news);
    s_events (w, o, rel, n);
}

static void s_describe_job (s_w_t *w, const Hs__Job *j, const Hs__Object *o,
                            const Hs__Object *const *rel, size_t n)
{
    const Hs__ObjectMeta *m = j->metadata;
    const Hs__JobSpec *s = j->spec;
    const Hs__JobStatus *st = j->status;
    char buf[64];
    s_write (w, 0, "Name:\t%s\n", m->name);
    s_write (w, 0, "Namespace:\t%s\n", m->namespace_);
    _cleanup_free_ char *sels = ctl_label_selector_str (s ? s->selector : NULL);
    s_write (w, 0, "Selector:\t%s\n", sels);
    s_meta_maps (w, m);
    s_controlled_by (w, m);
    s_write (w, 0, "Parallelism:\t%d\n", s && s->parallelism ? s->parallelism->value : 1);
    if (s && s->completions)
        s_write (w, 0, "Completions:\t%d\n", s->completions->value);
    else
        s_write (w, 0, "Completions:\t<unset>\n");
    s_write (w, 0, "Completion Mode:\t%s\n",
             s && !hs_empty (s->completion_mode) ? s->completion_mode : "NonIndexed");
    s_write (w, 0, "Suspend:\t%s\n", s && s->suspend ? "true" : "false");
    s_write (w, 0, "Backoff Limit:\t%d\n", s && s->backoff_limit ? s->backoff_limit->value : 6);
    if (s && s->ttl_seconds_after_finished)
        s_write (w, 0, "TTL Seconds After Finished:\t%d\n", s->ttl_seconds_after_finished->value);
    if (st && st->start_time)
        s_write (w, 0, "Start Time:\t%s\n", ctl_fmt_rfc1123 (st->start_time, buf, sizeof buf));
    if (st && st->completion_time)
        s_write (w, 0, "Completed At:\t%s\n",
                 ctl_fmt_rfc1123 (st->completion_time, buf, sizeof buf));
    if (st && st->start_time && st->completion_time)
        s_write (w, 0, "Duration:\t%s\n",
                 ctl_fmt_duration (st->completion_time - st->start_time, buf, sizeof buf));
    if (s && s->active_deadline_seconds)
        s_write (w, 0, "Active Deadline Seconds:\t%llds\n",
                 (long long)s->active_deadline_seconds->value);
    s_write (w, 0, "Pods Statuses:\t%d Active (%d Ready) / %d Succeeded / %d Failed\n",
             st ? st->active : 0, st ? st->ready : 0, st ? st->succeeded : 0, st ? st->failed : 0);
    s_pod_template (w, s ? s->template_ : NULL);
    if (st && st->n_conditions) {
        s_write (w, 0, "Conditions:\n  Type\tStatus\tReason\n");
        s_write (w, 1, "----\t------\t------\n");
        for (size_t i = 0; i < st->n_conditions; i++)
            s_write (w, 1, "%s \t%s\t%s\n", st->conditions[i]->type, st->conditions[i]->status,
                     hs_s (st->conditions[i]->reason));
    }
    s_events (w, o, rel, n);
}

/* The Endpoints object of a Service: same namespace and name. */
static const Hs__Endpoints *s_endpoints_of (const Hs__ObjectMeta *m, const Hs__Object *const *rel,
                                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (hs_obj_kind (rel[i]) != HS_KIND_ENDPOINTS || !rel[i]->endpoints->metadata) continue;
        const Hs__ObjectMeta *em = rel[i]->endpoints->metadata;
        if (hs_streq (em->name, m->name) && hs_streq (em->namespace_, m->namespace_))
            return rel[i]->endpoints;
    }
    return NULL;
}

static void s_describe_service (s_w_t *w, const Hs__Service *svc, const Hs__Object *o,
                                const Hs__Object *const *rel, size_t n)
{
    const Hs__ObjectMeta *m = svc->metadata;
    const Hs__ServiceSpec *s = svc->spec;
    s_write (w, 0, "Name:\t%s\n", m->name);
    s_write (w, 0, "Namespace:\t%s\n", m->namespace_);
    s_meta_maps (w, m);
    _cleanup_free_ char *sel =
        ctl_labels_str (s ? (void *const *)s->selector : NULL, s ? s->n_selector : 0);
    s_write (w, 0, "Selector:\t%s\n", sel);
    s_write (w, 0, "Type:\t%s\n", s && !hs_empty (s->type) ? s->type : "ClusterIP");
    /* homeostat's Services are IPv4 single-stack */
    s_write (w, 0, "IP Family Policy:\tSingleStack\n");
    s_write (w, 0, "IP Families:\tIPv4\n");
    s_write (w, 0, "IP:\t%s\n", s ? hs_s (s->cluster_ip) : "");
    s_write (w, 0, "IPs:\t");
    if (!s || s->n_cluster_ips == 0) s_write (w, 0, "<none>");
    for (size_t i = 0; s && i < s->n_cluster_ips; i++)
        s_write (w, 0, "%s%s", i ? "," : "", s->cluster_ips[i]);
    s_write (w, 0, "\n");
    if (s && s->n_external_ips) {
        s_write (w, 0, "External IPs:\t");
        for (size_t i = 0; i < s->n_external_ips; i++)
            s_write (w, 0, "%s%s", i ? "," : "", s->external_ips[i]);
        s_write (w, 0, "\n");
    }
    const Hs__Endpoints *ep = s_endpoints_of (m, rel, n);
    for (size_t i = 0; s && i < s->n_ports; i++) {
        const Hs__ServicePort *sp = s->ports[i];
        const char *proto = hs_empty (sp->protocol) ? "TCP" : sp->protocol;
        s_write (w, 0, "Port:\t%s\t%d/%s\n", hs_empty (sp->name) ? "<unset>" : sp->name, sp->port,
                 proto);
        s_write (w, 0, "TargetPort:\t%s/%s\n",
                 hs_empty (sp->target_port) ? "<unset>" : sp->target_port, proto);
        if (sp->node_port)
            s_write (w, 0, "NodePort:\t%s\t%d/%s\n", hs_s (sp->name), sp->node_port, proto);
        _cleanup_free_ char *eps = ctl_endpoints_str (ep, hs_s (sp->name));
        s_write (w, 0, "Endpoints:\t%s\n", eps);
    }
    s_write (w, 0, "Session Affinity:\t%s\n",
             s && !hs_empty (s->session_affinity) ? s->session_affinity : "None");
    if (s && !hs_empty (s->internal_traffic_policy))
        s_write (w, 0, "Internal Traffic Policy:\t%s\n", s->internal_traffic_policy);
    s_events (w, o, rel, n);
}

static void s_ep_addresses (s_w_t *w, const char *title, Hs__EndpointAddress *const *a, size_t n)
{
    s_write (w, 1, "%s:\t", title);
    if (n == 0) s_write (w, 0, "<none>");
    for (size_t i = 0; i < n; i++) s_write (w, 0, "%s%s", i ? "," : "", a[i]->ip);
    s_write (w, 0, "\n");
}

static void s_describe_endpoints (s_w_t *w, const Hs__Endpoints *ep, const Hs__Object *o,
                                  const Hs__Object *const *rel, size_t n)
{
    const Hs__ObjectMeta *m = ep->metadata;
    s_write (w, 0, "Name:\t%s\n", m->name);
    s_write (w, 0, "Namespace:\t%s\n", m->namespace_);
    s_meta_maps (w, m);
    s_write (w, 0, "Subsets:\n");
    for (size_t i = 0; i < ep->n_subsets; i++) {
        const Hs__EndpointSubset *ss = ep->subsets[i];
        s_ep_addresses (w, "Addresses", ss->addresses, ss->n_addresses);
        s_ep_addresses (w, "NotReadyAddresses", ss->not_ready_addresses, ss->n_not_ready_addresses);
        if (ss->n_ports) {
            s_write (w, 1, "Ports:\n");
            s_write (w, 2, "Name\tPort\tProtocol\n");
            s_write (w, 2, "----\t----\t--------\n");
            for (size_t k = 0; k < ss->n_ports; k++)
                s_write (w, 2, "%s\t%d\t%s\n",
                         hs_empty (ss->ports[k]->name) ? "<unset>" : ss->ports[k]->name,
                         ss->ports[k]->port, hs_s (ss->ports[k]->protocol));
        }
        s_write (w, 0, "\n");
    }
    s_events (w, o, rel, n);
}

/* kubectl describe configmap: the data in full, after the aligned part
 * (a value's tabs and newlines are its own, not table cells). */
static void s_describe_configmap (s_w_t *w, const Hs__ConfigMap *cm, const Hs__Object *o,
                                  const Hs__Object *const *rel, size_t n)
{
    const Hs__ObjectMeta *m = cm->metadata;
    s_write (w, 0, "Name:\t%s\n", m->name);
    s_write (w, 0, "Namespace:\t%s\n", m->namespace_);
    s_meta_maps (w, m);
    s_flush (w);
    hs_buf_t *b = &w->done;
    hs_buf_puts (b, "\nData\n====\n");
    const hs_pb_map_entry_t **sorted = hs_pb_map_sorted ((void *const *)cm->data, cm->n_data);
    for (size_t i = 0; i < cm->n_data; i++)
        hs_buf_printf (b, "%s:\n----\n%s\n", sorted[i]->key, hs_s (sorted[i]->value));
    free (sorted);
    hs_buf_puts (b, "\nBinaryData\n====\n");
    for (size_t i = 0; i < cm->n_binary_data; i++)
        hs_buf_printf (b, "%s: %zu bytes\n", cm->binary_data[i]->key,
                       cm->binary_data[i]->value.len);
    hs_buf_puts (b, "\n");
    s_events (w, o, rel, n);
}

/* kubectl describe secret: key names and sizes, never a value. */
static void s_describe_secret (s_w_t *w, const Hs__Secret *sec, const Hs__Object *o,
                               const Hs__Object *const *rel, size_t n)
{
    const Hs__ObjectMeta *m = sec->metadata;
    s_write (w, 0, "Name:\t%s\n", m->name);
    s_write (w, 0, "Namespace:\t%s\n", m->namespace_);
    s_meta_maps (w, m);
    s_flush (w);
    s_write (w, 0, "\nType:\t%s\n", hs_s (sec->type));
    s_flush (w);
    s_write (w, 0, "\nData\n====\n");
    for (size_t i = 0; i < sec->n_data; i++)
        s_write (w, 0, "%s:\t%zu bytes\n", sec->data[i]->key, sec->data[i]->value.len);
    s_flush (w);
    s_write (w, 0, "\n");
    s_events (w, o, rel, n);
}

/* One metric line of kubectl's HPA describer (describeHorizontalPodAutoscalerV2):
 * "resource cpu on pods  (as a percentage of request):  73% (730m) / 50%";
 * what names the resource (and container) is written by the caller. */
static void s_hpa_metric_line (s_w_t *w, const Hs__MetricTarget *t,
                               const Hs__MetricValueStatus *cur)
{
    if (t && !hs_empty (t->average_value)) {
        const char *now = !cur                            ? "<unknown>"
                          : hs_empty (cur->average_value) ? "0"
                                                          : cur->average_value;
        s_write (w, 0, ":\t%s / %s\n", now, t->average_value);
        return;
    }
    char c[96] = "<unknown>", g[16] = "<auto>";
    if (cur && cur->average_utilization)
        snprintf (c, sizeof c, "%d%% (%s)", cur->average_utilization->value,
                  hs_empty (cur->average_value) ? "0" : cur->average_value);
    if (t && t->average_utilization) snprintf (g, sizeof g, "%d%%", t->average_utilization->value);
    s_write (w, 1, "(as a percentage of request):\t%s / %s\n", c, g);
}

static void s_hpa_rules (s_w_t *w, const char *direction, const Hs__HPAScalingRules *r)
{
    if (!r) return;
    s_write (w, 1, "%s:\n", direction);
    if (r->stabilization_window_seconds)
        s_write (w, 2, "Stabilization Window: %d seconds\n",
                 r->stabilization_window_seconds->value);
    if (r->n_policies == 0) return;
    s_write (w, 2, "Select Policy: %s\n", hs_empty (r->select_policy) ? "Max" : r->select_policy);
    s_write (w, 2, "Policies:\n");
    for (size_t i = 0; i < r->n_policies; i++)
        s_write (w, 3, "- Type: %s\tValue: %d\tPeriod: %d seconds\n", hs_s (r->policies[i]->type),
                 r->policies[i]->value, r->policies[i]->period_seconds);
}

/* kubectl describe hpa (autoscaling/v2), line for line. */
static void s_describe_hpa (s_w_t *w, const Hs__HorizontalPodAutoscaler *h, const Hs__Object *o,
                            const Hs__Object *const *rel, size_t n)
{
    const Hs__ObjectMeta *m = h->metadata;
    const Hs__HorizontalPodAutoscalerSpec *s = h->spec;
    const Hs__HorizontalPodAutoscalerStatus *st = h->status;
    const Hs__CrossVersionObjectReference *ref = s ? s->scale_target_ref : NULL;
    const char *kind = ref ? hs_s (ref->kind) : "";
    char buf[64];
    s_write (w, 0, "Name:\t%s\n", m->name);
    s_write (w, 0, "Namespace:\t%s\n", m->namespace_);
    s_meta_maps (w, m);
    s_write (w, 0, "CreationTimestamp:\t%s\n", s_time (m->creation_timestamp, buf, sizeof buf));
    s_write (w, 0, "Reference:\t%s/%s\n", kind, ref ? hs_s (ref->name) : "");
    s_write (w, 0, "Metrics:\t( current / target )\n");
    for (size_t i = 0; s && i < s->n_metrics; i++) {
        const Hs__MetricSpec *ms = s->metrics[i];
        const Hs__MetricStatus *cs =
            st && i < st->n_current_metrics ? st->current_metrics[i] : NULL;
        if (hs_streq (ms->type, "Resource") && ms->resource) {
            s_write (w, 1, "resource %s on pods", hs_s (ms->resource->name));
            s_hpa_metric_line (w, ms->resource->target,
                               cs && cs->resource ? cs->resource->current : NULL);
        } else if (hs_streq (ms->type, "ContainerResource") && ms->container_resource) {
            s_write (w, 1, "resource %s of container \"%s\" on pods",
                     hs_s (ms->container_resource->name), hs_s (ms->container_resource->container));
            s_hpa_metric_line (w, ms->container_resource->target,
                               cs && cs->container_resource ? cs->container_resource->current
                                                            : NULL);
        } else {
            s_write (w, 1, "<unknown metric type \"%s\">\n", hs_s (ms->type));
        }
    }
    if (s && s->min_replicas)
        s_write (w, 0, "Min replicas:\t%d\n", s->min_replicas->value);
    else
        s_write (w, 0, "Min replicas:\t<unset>\n");
    s_write (w, 0, "Max replicas:\t%d\n", s ? s->max_replicas : 0);
    if (s && s->behavior) {
        s_write (w, 0, "Behavior:\n");
        s_hpa_rules (w, "Scale Up", s->behavior->scale_up);
        s_hpa_rules (w, "Scale Down", s->behavior->scale_down);
    }
    s_write (w, 0, "%s pods:\t%d current / %d desired\n", kind, st ? st->current_replicas : 0,
             st ? st->desired_replicas : 0);
    if (st && st->n_conditions > 0) {
        s_write (w, 0, "Conditions:\n");
        s_write (w, 1, "Type\tStatus\tReason\tMessage\n");
        s_write (w, 1, "----\t------\t------\t-------\n");
        for (size_t i = 0; i < st->n_conditions; i++) {
            const Hs__HorizontalPodAutoscalerCondition *c = st->conditions[i];
            s_write (w, 1, "%s\t%s\t%s\t%s\n", hs_s (c->type), hs_s (c->status), hs_s (c->reason),
                     hs_s (c->message));
        }
    }
    s_events (w, o, rel, n);
}

static void s_describe_event (s_w_t *w, const Hs__Event *e)
{
    const Hs__ObjectMeta *m = e->metadata;
    char buf[64];
    s_write (w, 0, "Name:\t%s\n", m->name);
    s_write (w, 0, "Namespace:\t%s\n", m->namespace_);
    s_meta_maps (w, m);
    s_write (w, 0, "Type:\t%s\n", hs_s (e->type));
    s_write (w, 0, "Reason:\t%s\n", hs_s (e->reason));
    s_write (w, 0, "Message:\t%s\n", hs_s (e->message));
    s_write (w, 0, "Source:\t%s\n",
             e->source && !hs_empty (e->source->component) ? e->source->component
                                                           : hs_s (e->reporting_component));
    if (e->involved_object) {
        s_write (w, 0, "Involved Object:\n");
        s_write (w, 1, "Kind:\t%s\n", hs_s (e->involved_object->kind));
        s_write (w, 1, "Namespace:\t%s\n", hs_s (e->involved_object->namespace_));
        s_write (w, 1, "Name:\t%s\n", hs_s (e->involved_object->name));
    }
    s_write (w, 0, "First Timestamp:\t%s\n", s_time (e->first_timestamp, buf, sizeof buf));
    s_write (w, 0, "Last Timestamp:\t%s\n", s_time (e->last_timestamp, buf, sizeof buf));
    s_write (w, 0, "Count:\t%d\n", e->count ? e->count : 1);
}

char *ctl_describe_render (const Hs__Object *o, const Hs__Object *const *rel, size_t n, int64_t now)
{
    s_w_t w = {.now = now};
    if (!hs_obj_meta (o)) return hs_strdup ("");
    switch (hs_obj_kind (o)) {
    case HS_KIND_POD: s_describe_pod (&w, o->pod, o, rel, n); break;
    case HS_KIND_NODE: s_describe_node (&w, o->node, o, rel, n); break;
    case HS_KIND_REPLICASET: s_describe_rs (&w, o->replica_set, o, rel, n); break;
    case HS_KIND_DEPLOYMENT: s_describe_deploy (&w, o->deployment, o, rel, n); break;
    case HS_KIND_JOB: s_describe_job (&w, o->job, o, rel, n); break;
    case HS_KIND_EVENT: s_describe_event (&w, o->event); break;
    case HS_KIND_SERVICE: s_describe_service (&w, o->service, o, rel, n); break;
    case HS_KIND_ENDPOINTS: s_describe_endpoints (&w, o->endpoints, o, rel, n); break;
    case HS_KIND_CONFIGMAP: s_describe_configmap (&w, o->config_map, o, rel, n); break;
    case HS_KIND_SECRET: s_describe_secret (&w, o->secret, o, rel, n); break;
    case HS_KIND_HPA: s_describe_hpa (&w, o->horizontal_pod_autoscaler, o, rel, n); break;
    default: break;
    }
    s_flush (&w);
    return hs_buf_take (&w.done);
}
