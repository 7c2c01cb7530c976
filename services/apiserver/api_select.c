/*  api_select.c: labelSelector and fieldSelector of list and watch requests.
 *
 *  Label selectors are kubectl's syntax (=, ==, !=, in, notin, exists, !key),
 *  parsed and matched by hsctl's ctl_selector, so `kubectl get -l` and
 *  `hsctl get -l` agree.
 *
 *  Field selectors follow apimachinery's fields.ParseSelector: terms split
 *  on commas not escaped by a backslash, all of them must hold (AND), each
 *  `field=value`, `field==value` or `field!=value` (the first operator
 *  found from the left splits it; nothing is trimmed), values unescaped
 *  (\\ \, \= only; a bare ',' or '=' in a value is an error). Then each
 *  field is checked against the kind's selectable fields, with the message
 *  the apiserver gives for that kind: `field label not supported: X` for
 *  the core kinds with a conversion of their own (Pod, Node, Event, Secret,
 *  Service, Namespace), `field label "X" not supported for batchv1.Job`,
 *  and `"X" is not a known field selector: only "metadata.name",
 *  "metadata.namespace"` for the others. The values compared are
 *  Kubernetes' (pkg/registry/.../strategy.go ToSelectableFields): "" for
 *  an absent field, "true"/"false" for booleans, defaults applied (a pod's
 *  restartPolicy Always, a Secret's type Opaque, a Service's type
 *  ClusterIP), an event's source is source.component or else its
 *  reporting component.
 *
 *  involvedObject.namespace of an event about a cluster-scoped object
 *  (a Node) is "" whatever the event stores: `kubectl describe node`
 *  filters on `involvedObject.namespace=` (empty). Its second query,
 *  `involvedObject.uid=<node name>`, is for kubelets that name nodes' events
 *  by the node's name; Homeostat's events carry the object's real uid
 *  (hs_event_write), which the first query finds, so that one finds
 *  nothing and describe shows each event once.
 */
#include "api.h"
#include "ctl_fmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef enum {
    F_NAME = 0,
    F_NAMESPACE,
    /* pods */
    F_POD_NODE_NAME,
    F_POD_RESTART_POLICY,
    F_POD_SCHEDULER_NAME,
    F_POD_HOST_NETWORK,
    F_POD_PHASE,
    F_POD_IP,
    F_POD_NOMINATED_NODE,
    /* nodes */
    F_NODE_UNSCHEDULABLE,
    /* events */
    F_EV_KIND,
    F_EV_NAMESPACE,
    F_EV_NAME,
    F_EV_UID,
    F_EV_API_VERSION,
    F_EV_RESOURCE_VERSION,
    F_EV_FIELD_PATH,
    F_EV_REASON,
    F_EV_REPORTING_COMPONENT,
    F_EV_SOURCE,
    F_EV_TYPE,
    /* others */
    F_SECRET_TYPE,
    F_SVC_CLUSTER_IP,
    F_SVC_TYPE,
    F_JOB_SUCCESSFUL,
    F_NS_PHASE,
} s_field_t;

typedef struct {
    const char *label;
    s_field_t field;
} s_label_t;

/* Per kind, the labels Kubernetes accepts (pkg/apis/<group>/<v>/conversion.go). */
static const s_label_t s_pod_labels[] = {
    {"spec.nodeName", F_POD_NODE_NAME},
    {"spec.host", F_POD_NODE_NAME}, /* old v1 clients' name for it */
    {"spec.restartPolicy", F_POD_RESTART_POLICY},
    {"spec.schedulerName", F_POD_SCHEDULER_NAME},
    {"spec.hostNetwork", F_POD_HOST_NETWORK},
    {"status.phase", F_POD_PHASE},
    {"status.podIP", F_POD_IP},
    {"status.nominatedNodeName", F_POD_NOMINATED_NODE},
};
static const s_label_t s_node_labels[] = {{"spec.unschedulable", F_NODE_UNSCHEDULABLE}};
static const s_label_t s_event_labels[] = {
    {"involvedObject.kind", F_EV_KIND},
    {"involvedObject.namespace", F_EV_NAMESPACE},
    {"involvedObject.name", F_EV_NAME},
    {"involvedObject.uid", F_EV_UID},
    {"involvedObject.apiVersion", F_EV_API_VERSION},
    {"involvedObject.resourceVersion", F_EV_RESOURCE_VERSION},
    {"involvedObject.fieldPath", F_EV_FIELD_PATH},
    {"reason", F_EV_REASON},
    {"reportingComponent", F_EV_REPORTING_COMPONENT},
    {"source", F_EV_SOURCE},
    {"type", F_EV_TYPE},
};
static const s_label_t s_secret_labels[] = {{"type", F_SECRET_TYPE}};
static const s_label_t s_svc_labels[] = {{"spec.clusterIP", F_SVC_CLUSTER_IP},
                                         {"spec.type", F_SVC_TYPE}};
static const s_label_t s_job_labels[] = {{"status.successful", F_JOB_SUCCESSFUL}};
static const s_label_t s_ns_labels[] = {{"status.phase", F_NS_PHASE}};

typedef struct {
    s_field_t field;
    bool not_equal;
    char *value;
} s_term_t;

struct api_selector {
    hs_kind_t kind;
    ctl_selector_t *labels; /* NULL: every object */
    s_term_t *terms;
    size_t n_terms;
};

void api_selector_free (api_selector_t **s)
{
    if (!s || !*s) return;
    api_selector_t *self = *s;
    ctl_selector_free (&self->labels);
    for (size_t i = 0; i < self->n_terms; i++) free (self->terms[i].value);
    free (self->terms);
    free (self);
    *s = NULL;
}

/* ------------------------------------------------------------ parsing */

/* apimachinery's UnescapeValue: 0 with *ret (caller frees), or -EINVAL
 * with *ret_error (caller frees). */
static int s_unescape (const char *s, size_t len, char **ret, char **ret_error)
{
    hs_buf_t b = {0};
    bool in_slash = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_slash) {
            if (c != '\\' && c != ',' && c != '=') {
                hs_buf_free (&b);
                *ret_error =
                    hs_sprintf ("invalid field selector: invalid escape sequence: \\%c", c);
                return -EINVAL;
            }
            hs_buf_append (&b, &c, 1);
            in_slash = false;
        } else if (c == '\\')
            in_slash = true;
        else if (c == ',' || c == '=') {
            hs_buf_free (&b);
            /* Go prints the rune with %v: its number */
            *ret_error = hs_sprintf ("invalid field selector: unescaped character in value: %d",
                                     (int)(unsigned char)c);
            return -EINVAL;
        } else
            hs_buf_append (&b, &c, 1);
    }
    if (in_slash) {
        hs_buf_free (&b);
        *ret_error = hs_strdup ("invalid field selector: invalid escape sequence: \\");
        return -EINVAL;
    }
    *ret = b.data ? hs_buf_take (&b) : hs_strdup ("");
    return 0;
}

/* The field a label names for kind, or -1 with *ret_error as the apiserver
 * words it. */
static int s_lookup (hs_kind_t kind, const char *label, char **ret_error)
{
    const s_label_t *table = NULL;
    size_t n = 0;
    bool with_namespace = true;
    switch (kind) {
    case HS_KIND_POD: table = s_pod_labels, n = HS_ARRAY_LEN (s_pod_labels); break;
    case HS_KIND_NODE: table = s_node_labels, n = HS_ARRAY_LEN (s_node_labels); break;
    case HS_KIND_EVENT: table = s_event_labels, n = HS_ARRAY_LEN (s_event_labels); break;
    case HS_KIND_SECRET: table = s_secret_labels, n = HS_ARRAY_LEN (s_secret_labels); break;
    case HS_KIND_SERVICE: table = s_svc_labels, n = HS_ARRAY_LEN (s_svc_labels); break;
    case HS_KIND_JOB: table = s_job_labels, n = HS_ARRAY_LEN (s_job_labels); break;
    default:
        if (kind == API_KIND_NAMESPACE) {
            table = s_ns_labels, n = HS_ARRAY_LEN (s_ns_labels);
            with_namespace = false; /* Namespaces are not in one */
        }
        break;
    }
    if (!strcmp (label, "metadata.name")) return F_NAME;
    if (with_namespace && !strcmp (label, "metadata.namespace")) return F_NAMESPACE;
    for (size_t i = 0; i < n; i++)
        if (!strcmp (label, table[i].label)) return (int)table[i].field;
    switch (kind) {
    case HS_KIND_POD:
    case HS_KIND_NODE:
    case HS_KIND_EVENT:
    case HS_KIND_SECRET:
    case HS_KIND_SERVICE: *ret_error = hs_sprintf ("field label not supported: %s", label); break;
    case HS_KIND_JOB:
        *ret_error = hs_sprintf ("field label \"%s\" not supported for batchv1.Job", label);
        break;
    default:
        if (kind == API_KIND_NAMESPACE)
            *ret_error = hs_sprintf ("field label not supported: %s", label);
        else
            *ret_error = hs_sprintf ("\"%s\" is not a known field selector: only "
                                     "\"metadata.name\", \"metadata.namespace\"",
                                     label);
        break;
    }
    return -1;
}

/* apimachinery's splitTerm: the first of "!=", "==", "=" from the left. */
static bool s_split_term (const char *t, size_t len, size_t *ret_lhs, size_t *ret_op)
{
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '!' && i + 1 < len && t[i + 1] == '=') {
            *ret_lhs = i, *ret_op = 2;
            return true;
        }
        if (t[i] == '=') {
            *ret_lhs = i, *ret_op = (i + 1 < len && t[i + 1] == '=') ? 2 : 1;
            return true;
        }
    }
    return false;
}

static int s_parse_fields (api_selector_t *self, const char *text, char **ret_error)
{
    const char *p = text;
    for (;;) {
        /* one term: up to a comma that no backslash escapes */
        size_t len = 0;
        bool in_slash = false;
        for (; p[len]; len++) {
            if (in_slash)
                in_slash = false;
            else if (p[len] == '\\')
                in_slash = true;
            else if (p[len] == ',')
                break;
        }
        if (len > 0) {
            size_t lhs, op;
            if (!s_split_term (p, len, &lhs, &op)) {
                *ret_error = hs_sprintf ("invalid selector: '%s'; can't understand '%.*s'", text,
                                         (int)len, p);
                return -EINVAL;
            }
            char *value;
            if (s_unescape (p + lhs + op, len - lhs - op, &value, ret_error) < 0) return -EINVAL;
            _cleanup_free_ char *label = hs_strndup (p, lhs);
            int field = s_lookup (self->kind, label, ret_error);
            if (field < 0) {
                free (value);
                return -EINVAL;
            }
            self->terms = hs_realloc (self->terms, (self->n_terms + 1) * sizeof (s_term_t));
            self->terms[self->n_terms++] =
                (s_term_t){.field = (s_field_t)field, .not_equal = p[lhs] == '!', .value = value};
        }
        if (!p[len]) break;
        p += len + 1;
    }
    return 0;
}

int api_selector_parse (hs_kind_t kind, const char *label_sel, const char *field_sel,
                        api_selector_t **ret, api_status_t *ret_status)
{
    api_selector_t *self = hs_calloc (1, sizeof *self);
    self->kind = kind;
    char *err = NULL;
    if (!hs_empty (label_sel)) self->labels = ctl_selector_parse (label_sel, &err);
    if (!err && !hs_empty (field_sel)) s_parse_fields (self, field_sel, &err);
    if (err) {
        api_selector_free (&self);
        *ret_status = api_status_fmt (400, "BadRequest", "%s", err);
        free (err);
        return -1;
    }
    *ret = self;
    return 0;
}

/* ------------------------------------------------------------ matching */

static const char *s_bool (bool b)
{
    return b ? "true" : "false";
}

static const char *s_or (const char *s, const char *dflt)
{
    return hs_empty (s) ? dflt : s;
}

/* The value of field in o as Kubernetes' field set has it; buf for
 * numbers. */
static const char *s_value (const Hs__Object *o, s_field_t f, char *buf, size_t len)
{
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    const Hs__Pod *pod = o->kind_case == HS__OBJECT__KIND_POD ? o->pod : NULL;
    const Hs__Event *ev = o->kind_case == HS__OBJECT__KIND_EVENT ? o->event : NULL;
    const Hs__ObjectReference *io = ev ? ev->involved_object : NULL;
    const Hs__Service *svc = o->kind_case == HS__OBJECT__KIND_SERVICE ? o->service : NULL;
    switch (f) {
    case F_NAME: return m ? hs_s (m->name) : "";
    case F_NAMESPACE: return m ? hs_s (m->namespace_) : "";
    case F_POD_NODE_NAME: return pod && pod->spec ? hs_s (pod->spec->node_name) : "";
    case F_POD_RESTART_POLICY:
        return pod && pod->spec ? s_or (pod->spec->restart_policy, "Always") : "";
    case F_POD_SCHEDULER_NAME:
        return pod && pod->spec ? s_or (pod->spec->scheduler_name, "default-scheduler") : "";
    case F_POD_HOST_NETWORK: return s_bool (pod && pod->spec && pod->spec->host_network);
    case F_POD_PHASE: return pod && pod->status ? hs_s (pod->status->phase) : "";
    case F_POD_IP: return pod && pod->status ? hs_s (pod->status->pod_ip) : "";
    case F_POD_NOMINATED_NODE: return ""; /* Homeostat's scheduler does not nominate */
    case F_NODE_UNSCHEDULABLE:
        return s_bool (o->kind_case == HS__OBJECT__KIND_NODE && o->node->spec &&
                       o->node->spec->unschedulable);
    case F_EV_KIND: return io ? hs_s (io->kind) : "";
    case F_EV_NAMESPACE: {
        if (!io) return "";
        const hs_kind_info_t *info = hs_kind_info (hs_kind_parse (io->kind));
        return info && !info->namespaced ? "" : hs_s (io->namespace_);
    }
    case F_EV_NAME: return io ? hs_s (io->name) : "";
    case F_EV_UID: return io ? hs_s (io->uid) : "";
    case F_EV_API_VERSION: return io ? hs_s (io->api_version) : "";
    case F_EV_RESOURCE_VERSION:
        if (!io || !io->resource_version) return "";
        snprintf (buf, len, "%" PRId64, io->resource_version);
        return buf;
    case F_EV_FIELD_PATH: return io ? hs_s (io->field_path) : "";
    case F_EV_REASON: return ev ? hs_s (ev->reason) : "";
    case F_EV_REPORTING_COMPONENT: return ev ? hs_s (ev->reporting_component) : "";
    case F_EV_SOURCE:
        if (!ev) return "";
        return ev->source && !hs_empty (ev->source->component) ? ev->source->component
                                                               : hs_s (ev->reporting_component);
    case F_EV_TYPE: return ev ? hs_s (ev->type) : "";
    case F_SECRET_TYPE:
        return o->kind_case == HS__OBJECT__KIND_SECRET ? s_or (o->secret->type, "Opaque") : "";
    case F_SVC_CLUSTER_IP: return svc && svc->spec ? hs_s (svc->spec->cluster_ip) : "";
    case F_SVC_TYPE: return svc ? s_or (svc->spec ? svc->spec->type : NULL, "ClusterIP") : "";
    case F_JOB_SUCCESSFUL:
        snprintf (buf, len, "%d",
                  o->kind_case == HS__OBJECT__KIND_JOB && o->job->status ? o->job->status->succeeded
                                                                         : 0);
        return buf;
    case F_NS_PHASE: return "";
    }
    return "";
}

static bool s_terms_match (const api_selector_t *s, const Hs__Object *o, const char *ns_name)
{
    char buf[32];
    for (size_t i = 0; i < s->n_terms; i++) {
        const s_term_t *t = &s->terms[i];
        const char *v;
        if (ns_name)
            v = t->field == F_NAME ? ns_name : t->field == F_NS_PHASE ? "Active" : "";
        else
            v = s_value (o, t->field, buf, sizeof buf);
        if (!strcmp (v, t->value) == t->not_equal) return false;
    }
    return true;
}

bool api_selector_match (const api_selector_t *s, const Hs__Object *o)
{
    if (!s) return true;
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    if (!m) return false;
    if (s->labels && !ctl_selector_matches (s->labels, (void *const *)m->labels, m->n_labels))
        return false;
    return s_terms_match (s, o, NULL);
}

bool api_selector_match_namespace (const api_selector_t *s, const char *name)
{
    if (!s) return true;
    /* a Namespace's one label, as Kubernetes sets it */
    hs_pb_map_entry_t label = {.key = (char *)"kubernetes.io/metadata.name", .value = (char *)name};
    void *labels[] = {&label};
    if (s->labels && !ctl_selector_matches (s->labels, labels, 1)) return false;
    return s_terms_match (s, NULL, name);
}
