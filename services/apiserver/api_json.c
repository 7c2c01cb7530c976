/*  api_json.c: objects <-> Kubernetes JSON trees (services/apiserver/api.h).
 *
 *  Output starts from the manifest form (bus/hs_manifest.h: apiVersion and
 *  kind first, then the message by reflection) and corrects, guided by the
 *  message descriptors, what Kubernetes' JSON writes differently:
 *    - resourceVersion (ObjectMeta's and ObjectReference's) is a string;
 *    - int-or-string fields, which Homeostat keeps as strings, are numbers
 *      when they are a canonical int32 (api_json_intstr below): kubectl apply
 *      compares them with the manifest's numbers (kube-api notes, pitfall 6);
 *    - NodeSystemInfo.agentVersion is Kubernetes' kubeletVersion;
 *    - fields Kubernetes writes even when zero, which python-kubernetes'
 *      models require, are written (api_json_always, api_json_extra).
 *  Times are RFC 3339 to the second, as metav1.Time is.
 *
 *  Input walks the body the same way into a cleaned copy, then lets
 *  hs_pb_from_tree build the message: fields Homeostat does not have are
 *  collected as "spec.template.spec.containers[0].bogus" (the apiserver's
 *  strict-decoding paths) and refused, warned about or dropped per
 *  fieldValidation; a few fields clients always send that carry no meaning
 *  here are dropped quietly (s_quiet, docs/architecture.md §24).
 *  Pure: no socket, no clock.
 */
#include "api.h"
#include "api_json_fields.h"
#include "hs_manifest.h"
#include "hs_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ warnings */

#define S_MAX_WARNINGS    64  /* a response's Warning headers: enough, and bounded */
#define S_MAX_WARNING_LEN 512 /* bytes of one text */

void api_warn (api_warnings_t *w, const char *fmt, ...)
{
    if (!w || w->n >= S_MAX_WARNINGS) return;
    va_list ap;
    va_start (ap, fmt);
    char *s = NULL;
    if (vasprintf (&s, fmt, ap) < 0) abort ();
    va_end (ap);
    /* texts quote what clients sent (field names): no control character
     * may reach a header line */
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    if (strlen (s) > S_MAX_WARNING_LEN) s[S_MAX_WARNING_LEN] = '\0';
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp (w->texts[i], s)) { /* the apiserver sends each text once */
            free (s);
            return;
        }
    w->texts = hs_realloc (w->texts, (w->n + 1) * sizeof (char *));
    w->texts[w->n++] = s;
}

void api_warnings_free (api_warnings_t *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) free (w->texts[i]);
    free (w->texts);
    w->texts = NULL;
    w->n = 0;
}

/* ------------------------------------------------------------------ schema knowledge */

/* Kubernetes' int-or-string fields (IntOrString), strings in objects.proto. */
const api_json_field_t api_json_intstr[] = {
    {"hs.HTTPGetAction", "port"},
    {"hs.TCPSocketAction", "port"},
    {"hs.ServicePort", "target_port"},
    {"hs.RollingUpdateDeployment", "max_unavailable"},
    {"hs.RollingUpdateDeployment", "max_surge"},
};
const size_t api_json_n_intstr = HS_ARRAY_LEN (api_json_intstr);

/* int64 revisions that Kubernetes writes as (opaque) strings. */
const api_json_field_t api_json_revision[] = {
    {"hs.ObjectMeta", "resource_version"},
    {"hs.ObjectReference", "resource_version"},
};
const size_t api_json_n_revision = HS_ARRAY_LEN (api_json_revision);

/* Homeostat's name -> Kubernetes' JSON key. */
const api_json_renamed_t api_json_renamed[] = {
    {"hs.NodeSystemInfo", "agent_version", "kubeletVersion"},
};
const size_t api_json_n_renamed = HS_ARRAY_LEN (api_json_renamed);

/* Fields Kubernetes writes even when zero (no omitempty in its Go types),
 * that python-kubernetes' models require: without them its client raises
 * ValueError ("Invalid value for `restart_count`, must not be `None`") on
 * any list holding such an object. */
const api_json_field_t api_json_always[] = {
    {"hs.ContainerStatus", "name"},
    {"hs.ContainerStatus", "ready"},
    /* autoscaling/v2: what its Go types write without omitempty */
    {"hs.HorizontalPodAutoscalerSpec", "max_replicas"},
    {"hs.HorizontalPodAutoscalerStatus", "desired_replicas"},
    {"hs.CrossVersionObjectReference", "kind"},
    {"hs.CrossVersionObjectReference", "name"},
    {"hs.MetricSpec", "type"},
    {"hs.MetricStatus", "type"},
    {"hs.MetricTarget", "type"},
    {"hs.ResourceMetricSource", "name"},
    {"hs.ResourceMetricStatus", "name"},
    {"hs.ContainerResourceMetricSource", "name"},
    {"hs.ContainerResourceMetricSource", "container"},
    {"hs.ContainerResourceMetricStatus", "name"},
    {"hs.ContainerResourceMetricStatus", "container"},
    {"hs.HPAScalingPolicy", "type"},
    {"hs.HPAScalingPolicy", "value"},
    {"hs.HPAScalingPolicy", "period_seconds"},
    {"hs.HorizontalPodAutoscalerCondition", "type"},
    {"hs.HorizontalPodAutoscalerCondition", "status"},
    {"hs.ContainerStatus", "restart_count"},
    {"hs.ContainerStatus", "image"},
    {"hs.ContainerStateTerminated", "exit_code"},
    {"hs.ReplicaSetStatus", "replicas"},
    {"hs.NodeSystemInfo", "machine_id"},
    {"hs.NodeSystemInfo", "kernel_version"},
    {"hs.NodeSystemInfo", "os_image"},
    {"hs.NodeSystemInfo", "architecture"},
    {"hs.NodeSystemInfo", "agent_version"},
    {"hs.ContainerPort", "container_port"},
    {"hs.ServicePort", "port"},
    {"hs.EndpointPort", "port"},
    {"hs.HTTPHeader", "name"},
    {"hs.HTTPHeader", "value"},
    {"hs.EnvVar", "name"},
    /* set whenever the store accepted the object; written all the same,
     * so a client never meets a None where its model forbids one */
    {"hs.PodCondition", "type"},
    {"hs.PodCondition", "status"},
    {"hs.NodeCondition", "type"},
    {"hs.NodeCondition", "status"},
    {"hs.ReplicaSetCondition", "type"},
    {"hs.ReplicaSetCondition", "status"},
    {"hs.DeploymentCondition", "type"},
    {"hs.DeploymentCondition", "status"},
    {"hs.JobCondition", "type"},
    {"hs.JobCondition", "status"},
    {"hs.NodeAddress", "type"},
    {"hs.NodeAddress", "address"},
    {"hs.OwnerReference", "api_version"},
    {"hs.OwnerReference", "kind"},
    {"hs.OwnerReference", "name"},
    {"hs.OwnerReference", "uid"},
    {"hs.LabelSelectorRequirement", "key"},
    {"hs.LabelSelectorRequirement", "operator"},
    {"hs.Taint", "key"},
    {"hs.Taint", "effect"},
    {"hs.KeyToPath", "key"},
    {"hs.KeyToPath", "path"},
    {"hs.Container", "name"},
    {"hs.Volume", "name"},
    {"hs.VolumeMount", "name"},
    {"hs.VolumeMount", "mount_path"},
    {"hs.EndpointAddress", "ip"},
    {"hs.ConfigMapKeySelector", "key"},
    {"hs.SecretKeySelector", "key"},
    {"hs.ObjectFieldSelector", "field_path"},
    {"hs.HostPathVolumeSource", "path"},
    {"hs.SeccompProfile", "type"},
    {"hs.HTTPGetAction", "port"},
    {"hs.TCPSocketAction", "port"},
    /* a workload's status before its controller wrote one: Kubernetes
     * sends "status":{} (python's d.status is then an empty model, never
     * None) */
    {"hs.Pod", "status"},
    {"hs.ReplicaSet", "status"},
    {"hs.Deployment", "status"},
    {"hs.Job", "status"},
};
const size_t api_json_n_always = HS_ARRAY_LEN (api_json_always);

/* Required fields of Kubernetes' status types that Homeostat has no value
 * for: written as Kubernetes writes an unknown one. Reading them back is
 * quiet (they are under status). */
const api_json_extra_t api_json_extra[] = {
    {"hs.ContainerStatus", "imageID", ""},
    {"hs.NodeSystemInfo", "systemUUID", ""},
    {"hs.NodeSystemInfo", "bootID", ""},
    {"hs.NodeSystemInfo", "containerRuntimeVersion", ""},
    {"hs.NodeSystemInfo", "kubeProxyVersion", ""},
    {"hs.NodeSystemInfo", "operatingSystem", "linux"},
};
const size_t api_json_n_extra = HS_ARRAY_LEN (api_json_extra);

/* Fields Homeostat lacks that clients send without meaning: dropped without
 * a word. value NULL: whatever the value; else only that (default) value. */
static const struct {
    const char *message;
    const char *key;
    const char *value;
} s_quiet[] = {
    {"hs.ObjectMeta", "managedFields", NULL},
    {"hs.ObjectMeta", "selfLink", NULL},
    {"hs.Container", "terminationMessagePath", NULL},
    {"hs.Container", "terminationMessagePolicy", NULL},
    {"hs.Container", "stdin", "false"},
    {"hs.Container", "stdinOnce", "false"},
    {"hs.Container", "tty", "false"},
    {"hs.PodSpec", "serviceAccountName", "default"},
    {"hs.PodSpec", "serviceAccount", "default"},
    {"hs.PodSpec", "preemptionPolicy", "PreemptLowerPriority"},
    {"hs.ServiceSpec", "ipFamilyPolicy", "SingleStack"},
    {"hs.ServiceSpec", "ipFamilies", NULL},
    {"hs.JobSpec", "podReplacementPolicy", "TerminatingOrFailed"},
};

static bool s_listed (const char *msg, const char *field, const void *table, size_t n,
                      size_t stride)
{
    for (size_t i = 0; i < n; i++) {
        const char *const *row = (const char *const *)((const char *)table + i * stride);
        if (!strcmp (row[0], msg) && !strcmp (row[1], field)) return true;
    }
    return false;
}

#define S_IN(table, msg, field)                                                                    \
    s_listed (msg, field, table, HS_ARRAY_LEN (table), sizeof (table[0]))

static bool s_is_wrapper (const ProtobufCMessageDescriptor *d)
{
    return !strcmp (d->name, "hs.Int32Value") || !strcmp (d->name, "hs.Int64Value") ||
           !strcmp (d->name, "hs.BoolValue");
}

/* A map<string, string> (or bytes) field: repeated *Entry messages. */
static bool s_is_map (const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE) return false;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t l = strlen (d->name);
    return l > 5 && !strcmp (d->name + l - 5, "Entry") && d->n_fields == 2;
}

/* A nested message that is a mapping in JSON (not a wrapper, not a map). */
static bool s_is_object (const ProtobufCFieldDescriptor *f)
{
    return f->type == PROTOBUF_C_TYPE_MESSAGE && !s_is_map (f) && !s_is_wrapper (f->descriptor);
}

/* What the walks need per message type, computed once per descriptor (the
 * schema is fixed; the daemon is single-threaded): each field's JSON key as
 * api_obj_tree writes it (Kubernetes' name for renamed ones) and its
 * special handling, and whether anything below the message needs the
 * output walk at all (most of a pod's spec does not). */
enum {
    S_F_REVISION = 1 << 0,
    S_F_INTSTR = 1 << 1,
};

typedef struct {
    const ProtobufCMessageDescriptor *d;
    char **keys;    /* [n_fields]: JSON keys, Kubernetes' spelling */
    char **ours;    /* [n_fields]: JSON keys, hs_pbjson's spelling */
    uint8_t *flags; /* [n_fields]: S_F_* */
    int needs_out;  /* -1 unknown (or being computed), 0, 1 */
} s_desc_t;

#define S_DESC_SLOTS 512 /* a power of two, well above the schema's message count */
static s_desc_t s_descs[S_DESC_SLOTS];

static const char *s_renamed_key (const ProtobufCMessageDescriptor *d, const char *field)
{
    for (size_t r = 0; r < HS_ARRAY_LEN (api_json_renamed); r++)
        if (!strcmp (d->name, api_json_renamed[r].message) &&
            !strcmp (field, api_json_renamed[r].field))
            return api_json_renamed[r].k8s;
    return NULL;
}

static s_desc_t *s_desc (const ProtobufCMessageDescriptor *d)
{
    size_t h = ((uintptr_t)d >> 4) * 2654435761u;
    for (size_t k = 0; k < S_DESC_SLOTS; k++) {
        s_desc_t *e = &s_descs[(h + k) & (S_DESC_SLOTS - 1)];
        if (e->d == d) return e;
        if (e->d) continue;
        char name[128];
        e->d = d;
        e->keys = hs_calloc (d->n_fields + 1, sizeof (char *));
        e->ours = hs_calloc (d->n_fields + 1, sizeof (char *));
        e->flags = hs_calloc (d->n_fields + 1, 1);
        e->needs_out = -1;
        for (unsigned i = 0; i < d->n_fields; i++) {
            const char *f = d->fields[i].name;
            e->ours[i] = hs_strdup (hs_pb_json_name (f, name, sizeof name));
            const char *k8s = s_renamed_key (d, f);
            e->keys[i] = hs_strdup (k8s ? k8s : name);
            if (S_IN (api_json_revision, d->name, f)) e->flags[i] |= S_F_REVISION;
            if (S_IN (api_json_intstr, d->name, f)) e->flags[i] |= S_F_INTSTR;
        }
        return e;
    }
    abort (); /* more message types than slots: raise S_DESC_SLOTS */
}

/* Whether the output walk has anything to do in a message of d or below. */
static bool s_needs_out (const ProtobufCMessageDescriptor *d)
{
    s_desc_t *e = s_desc (d);
    if (e->needs_out >= 0) return e->needs_out;
    e->needs_out = 0; /* a cycle (none in the schema) must not recurse forever */
    bool needs = false;
    for (size_t i = 0; i < HS_ARRAY_LEN (api_json_always) && !needs; i++)
        needs = !strcmp (api_json_always[i].message, d->name);
    for (size_t i = 0; i < HS_ARRAY_LEN (api_json_extra) && !needs; i++)
        needs = !strcmp (api_json_extra[i].message, d->name);
    for (unsigned i = 0; i < d->n_fields && !needs; i++)
        needs = e->flags[i] || strcmp (e->keys[i], e->ours[i]) != 0 ||
                (s_is_object (&d->fields[i]) && s_needs_out (d->fields[i].descriptor));
    e->needs_out = needs;
    return needs;
}

/* The field whose JSON key (Kubernetes' spelling) is key; *hint is where
 * to look first (keys come in field order) and is moved past the match. */
static int s_field_index (const s_desc_t *e, const char *key, unsigned *hint)
{
    unsigned n = e->d->n_fields;
    for (unsigned k = 0; k < n; k++) {
        unsigned j = (*hint + k) % n;
        if (!strcmp (e->keys[j], key)) {
            *hint = j + 1;
            return (int)j;
        }
    }
    return -1;
}

/* "0" or [1-9][0-9]* within int32: what Kubernetes would print as a number. */
static bool s_canonical_int32 (const char *s)
{
    if (hs_empty (s) || (s[0] == '0' && s[1]) || strlen (s) > 10) return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return false;
    return strtoll (s, NULL, 10) <= INT32_MAX;
}

/* A resourceVersion Homeostat can have made: decimal digits of an int64. */
static bool s_digits (const char *s)
{
    if (hs_empty (s) || strlen (s) > 18) return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return false;
    return true;
}

/* ------------------------------------------------------------------ output */

/* The zero value of a field, as Kubernetes prints it: a nested object's is
 * {} (a new workload's "status"). */
static hs_tree_t *s_zero (const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL: return hs_tree_scalar ("false", false);
    case PROTOBUF_C_TYPE_STRING: return hs_tree_scalar ("", true);
    case PROTOBUF_C_TYPE_MESSAGE:
        return s_is_object (f) && f->label != PROTOBUF_C_LABEL_REPEATED ? hs_tree_new (HS_TREE_MAP)
                                                                        : NULL;
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_ENUM: return NULL;
    default: return hs_tree_scalar ("0", false);
    }
}

/* Adds what Kubernetes always writes for a message of d (api_json_always, api_json_extra). */
static void s_out_required (const s_desc_t *e, hs_tree_t *t)
{
    const ProtobufCMessageDescriptor *d = e->d;
    for (size_t i = 0; i < HS_ARRAY_LEN (api_json_always); i++) {
        if (strcmp (api_json_always[i].message, d->name)) continue;
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name (d, api_json_always[i].field);
        if (!f) continue;
        const char *key = e->keys[f - d->fields];
        if (hs_tree_get (t, key)) continue;
        hs_tree_t *z = s_zero (f);
        if (z) hs_tree_add (t, key, z);
    }
    for (size_t i = 0; i < HS_ARRAY_LEN (api_json_extra); i++)
        if (!strcmp (api_json_extra[i].message, d->name) && !hs_tree_get (t, api_json_extra[i].key))
            hs_tree_add (t, api_json_extra[i].key, hs_tree_scalar (api_json_extra[i].value, true));
}

/* Corrects t (the JSON of a message of d, keys in field order as
 * hs_pb_to_tree writes them) in place, as the banner says. */
static void s_out (const ProtobufCMessageDescriptor *d, hs_tree_t *t)
{
    if (!t || t->type != HS_TREE_MAP || !s_needs_out (d)) return;
    const s_desc_t *e = s_desc (d);
    unsigned hint = 0;
    size_t n = t->n; /* s_out_required's additions need nothing more */
    for (size_t i = 0; i < n; i++) {
        hs_tree_t *v = t->items[i];
        /* hs_pbjson's spelling: the tree is hs_pb_to_tree's */
        int j = -1;
        for (unsigned k = 0; k < d->n_fields && j < 0; k++) {
            unsigned q = (hint + k) % d->n_fields;
            if (!strcmp (e->ours[q], t->keys[i])) j = (int)q;
        }
        if (j < 0 || !v) continue;
        hint = (unsigned)j + 1;
        const ProtobufCFieldDescriptor *f = &d->fields[j];
        if (strcmp (e->keys[j], e->ours[j]) != 0) {
            free (t->keys[i]);
            t->keys[i] = hs_strdup (e->keys[j]);
        }
        if (v->type == HS_TREE_SCALAR && (e->flags[j] & S_F_REVISION)) {
            v->quoted = true;
        } else if (v->type == HS_TREE_SCALAR && (e->flags[j] & S_F_INTSTR)) {
            if (s_canonical_int32 (v->scalar)) v->quoted = false;
        } else if (s_is_object (f) && s_needs_out (f->descriptor)) {
            if (v->type == HS_TREE_MAP) s_out (f->descriptor, v);
            if (v->type == HS_TREE_SEQ)
                for (size_t k = 0; k < v->n; k++) s_out (f->descriptor, v->items[k]);
        }
    }
    s_out_required (e, t);
}

hs_tree_t *api_obj_tree (const Hs__Object *o)
{
    const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (o));
    if (!info) return NULL;
    hs_tree_t *t = hs_manifest_tree (o, HS_FMT_JSON);
    if (t) s_out (info->descriptor, t);
    return t;
}

static hs_tree_t *s_str (const char *s)
{
    return hs_tree_scalar (hs_s (s), true);
}

hs_tree_t *api_obj_meta_tree (const Hs__Object *o)
{
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (t, "kind", s_str ("PartialObjectMetadata"));
    hs_tree_add (t, "apiVersion", s_str ("meta.k8s.io/v1"));
    hs_tree_t *mt = m ? hs_pb_to_tree (&m->base, HS_FMT_JSON) : hs_tree_new (HS_TREE_MAP);
    s_out (&hs__object_meta__descriptor, mt);
    hs_tree_add (t, "metadata", mt);
    return t;
}

static hs_tree_t *s_rv (int64_t rv)
{
    char buf[32];
    snprintf (buf, sizeof buf, "%lld", (long long)rv);
    return hs_tree_scalar (buf, true);
}

hs_tree_t *api_list_tree (hs_kind_t kind, const Hs__Object *const *objs, size_t n, int64_t rv)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    char *list_kind = hs_sprintf ("%sList", info ? info->kind_name : "");
    hs_tree_add (t, "kind", s_str (list_kind));
    free (list_kind);
    hs_tree_add (t, "apiVersion", s_str (info ? info->api_version : "v1"));
    hs_tree_t *meta = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (meta, "resourceVersion", s_rv (rv));
    hs_tree_add (t, "metadata", meta);
    hs_tree_t *items = hs_tree_new (HS_TREE_SEQ);
    for (size_t i = 0; i < n; i++) {
        hs_tree_t *it = api_obj_tree (objs[i]);
        if (it) hs_tree_add (items, NULL, it);
    }
    hs_tree_add (t, "items", items);
    return t;
}

hs_tree_t *api_namespace_tree (const char *name, int64_t created_ns)
{
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (t, "kind", s_str ("Namespace"));
    hs_tree_add (t, "apiVersion", s_str ("v1"));
    hs_tree_t *meta = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (meta, "name", s_str (name));
    if (created_ns > 0) {
        char buf[64];
        hs_tree_add (meta, "creationTimestamp", s_str (hs_fmt_time (created_ns, buf, sizeof buf)));
    }
    /* set by Kubernetes on every namespace; selectors use it */
    hs_tree_t *labels = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (labels, "kubernetes.io/metadata.name", s_str (name));
    hs_tree_add (meta, "labels", labels);
    hs_tree_add (t, "metadata", meta);
    hs_tree_t *spec = hs_tree_new (HS_TREE_MAP);
    hs_tree_t *fin = hs_tree_new (HS_TREE_SEQ);
    hs_tree_add (fin, NULL, s_str ("kubernetes"));
    hs_tree_add (spec, "finalizers", fin);
    hs_tree_add (t, "spec", spec);
    hs_tree_t *status = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (status, "phase", s_str ("Active"));
    hs_tree_add (t, "status", status);
    return t;
}

/* ------------------------------------------------------------------ input */

#define S_MAX_UNKNOWN 100 /* unknown fields named in one answer */

typedef struct {
    char path[512];
    size_t len;
    char **unknown;
    size_t n_unknown;
    size_t more; /* unknown fields beyond S_MAX_UNKNOWN */
} s_in_t;

static size_t s_push (s_in_t *c, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static size_t s_push (s_in_t *c, const char *fmt, ...)
{
    size_t old = c->len;
    if (c->len < sizeof c->path - 1) {
        va_list ap;
        va_start (ap, fmt);
        int w = vsnprintf (c->path + c->len, sizeof c->path - c->len, fmt, ap);
        va_end (ap);
        if (w > 0) c->len += (size_t)w;
        if (c->len > sizeof c->path - 1) c->len = sizeof c->path - 1;
    }
    return old;
}

static void s_pop (s_in_t *c, size_t old)
{
    c->len = old;
    c->path[old] = '\0';
}

static hs_tree_t *s_dup (const hs_tree_t *t)
{
    if (!t) return NULL;
    hs_tree_t *c =
        t->type == HS_TREE_SCALAR ? hs_tree_scalar (t->scalar, t->quoted) : hs_tree_new (t->type);
    c->line = t->line;
    for (size_t i = 0; i < t->n && t->type != HS_TREE_SCALAR; i++)
        hs_tree_add (c, t->type == HS_TREE_MAP ? t->keys[i] : NULL, s_dup (t->items[i]));
    return c;
}

static bool s_quiet_drop (const char *msg, const char *key, const hs_tree_t *v)
{
    for (size_t i = 0; i < HS_ARRAY_LEN (s_quiet); i++) {
        if (strcmp (s_quiet[i].message, msg) || strcmp (s_quiet[i].key, key)) continue;
        if (!s_quiet[i].value) return true;
        if (v->type == HS_TREE_SCALAR && !strcmp (hs_s (v->scalar), s_quiet[i].value)) return true;
    }
    return false;
}

/* A cleaned copy of t, a message of d: unknown fields left out (and named
 * in c unless lenient), resourceVersion strings made numbers. */
static hs_tree_t *s_in (s_in_t *c, const ProtobufCMessageDescriptor *d, const hs_tree_t *t,
                        bool lenient)
{
    if (t->type != HS_TREE_MAP) return s_dup (t); /* hs_pb_from_tree says what is wrong */
    hs_tree_t *out = hs_tree_new (HS_TREE_MAP);
    out->line = t->line;
    const s_desc_t *e = s_desc (d);
    unsigned hint = 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *key = t->keys[i];
        const hs_tree_t *v = t->items[i];
        int j = s_field_index (e, key, &hint);
        const ProtobufCFieldDescriptor *f = j < 0 ? NULL : &d->fields[j];
        if (!f) {
            if (v->type == HS_TREE_NULL || lenient || s_quiet_drop (d->name, key, v)) continue;
            size_t old = c->len ? s_push (c, ".%s", key) : s_push (c, "%s", key);
            if (c->n_unknown < S_MAX_UNKNOWN) {
                c->unknown = hs_realloc (c->unknown, (c->n_unknown + 1) * sizeof (char *));
                c->unknown[c->n_unknown++] = hs_strdup (c->path);
            } else {
                c->more++;
            }
            s_pop (c, old);
            continue;
        }
        /* the message's own spelling, for hs_pb_from_tree */
        const char *name = e->ours[j];
        if ((e->flags[j] & S_F_REVISION) && v->type == HS_TREE_SCALAR) {
            if (hs_empty (v->scalar)) continue; /* "": none */
            hs_tree_add (out, name, hs_tree_scalar (v->scalar, !s_digits (v->scalar)));
            continue;
        }
        if (!s_is_object (f) || (v->type != HS_TREE_MAP && v->type != HS_TREE_SEQ)) {
            hs_tree_add (out, name, s_dup (v));
            continue;
        }
        size_t old = c->len ? s_push (c, ".%s", key) : s_push (c, "%s", key);
        /* status is the server's: what it holds that Homeostat lacks is not
         * the client's mistake (kubectl edit sends it back) */
        bool lenient_below =
            lenient || (c->len == strlen ("status") && !strcmp (c->path, "status"));
        if (v->type == HS_TREE_MAP) {
            hs_tree_add (out, name, s_in (c, f->descriptor, v, lenient_below));
        } else {
            hs_tree_t *seq = hs_tree_new (HS_TREE_SEQ);
            seq->line = v->line;
            for (size_t k = 0; k < v->n; k++) {
                size_t o2 = s_push (c, "[%zu]", k);
                hs_tree_add (seq, NULL, s_in (c, f->descriptor, v->items[k], lenient_below));
                s_pop (c, o2);
            }
            hs_tree_add (out, name, seq);
        }
        s_pop (c, old);
    }
    return out;
}

static const char *s_scalar (const hs_tree_t *t)
{
    return t && t->type == HS_TREE_SCALAR ? hs_s (t->scalar) : NULL;
}

static int s_bad (api_status_t *ret_status, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static int s_bad (api_status_t *ret_status, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *msg = NULL;
    if (vasprintf (&msg, fmt, ap) < 0) abort ();
    va_end (ap);
    if (ret_status)
        *ret_status = api_status_new (400, "BadRequest", msg, HS_KIND_NONE, NULL, NULL, 0);
    free (msg);
    return -1;
}

/* The message's metadata, made if the body had none. */
static Hs__ObjectMeta *s_meta (Hs__Object *o)
{
    Hs__ObjectMeta *m = hs_obj_meta (o);
    if (m) return m;
    ProtobufCMessage *body = hs_obj_body (o);
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name (body->descriptor, "metadata");
    if (!f) return NULL;
    m = hs_pb_new (&hs__object_meta__descriptor);
    *(Hs__ObjectMeta **)((char *)body + f->offset) = m;
    return m;
}

static void s_unknown_free (s_in_t *c)
{
    for (size_t i = 0; i < c->n_unknown; i++) free (c->unknown[i]);
    free (c->unknown);
}

int api_obj_from_tree (const api_route_t *route, const hs_tree_t *body, api_validate_t v,
                       Hs__Object **ret, api_warnings_t *w, api_status_t *ret_status)
{
    const hs_kind_info_t *info = hs_kind_info (route->kind);
    if (!info)
        return s_bad (ret_status, "Homeostat has no %s objects to write",
                      route->kind == API_KIND_NAMESPACE ? "Namespace" : "such");
    if (!body || body->type != HS_TREE_MAP)
        return s_bad (ret_status,
                      "the body of the request must be a JSON object (a %s in version \"%s\")",
                      info->kind_name, info->api_version);

    /* apiVersion and kind default from the URL (python models leave them
     * out) and must match it when given. */
    const hs_tree_t *av = hs_tree_get (body, "apiVersion");
    const hs_tree_t *kv = hs_tree_get (body, "kind");
    if (av && av->type != HS_TREE_NULL) {
        const char *a = s_scalar (av);
        if (!a) return s_bad (ret_status, "apiVersion: expected a string");
        if (*a && strcmp (a, info->api_version) != 0)
            return s_bad (ret_status,
                          "the API version in the data (%.100s) does not match the expected API "
                          "version (%s)",
                          a, info->api_version);
    }
    if (kv && kv->type != HS_TREE_NULL) {
        const char *k = s_scalar (kv);
        if (!k) return s_bad (ret_status, "kind: expected a string");
        if (*k && strcmp (k, info->kind_name) != 0)
            return s_bad (ret_status,
                          "the kind in the data (%.100s) does not match the expected kind (%s)", k,
                          info->kind_name);
    }

    /* The message is the body without apiVersion and kind, cleaned. */
    hs_tree_t view = *body;
    view.keys = hs_calloc (body->n ? body->n : 1, sizeof (char *));
    view.items = hs_calloc (body->n ? body->n : 1, sizeof (hs_tree_t *));
    view.n = 0;
    /* A create (no name in the URL) ignores status, as the apiserver does:
     * kubectl create -f of a `get -o yaml` output carries one. */
    bool create = hs_empty (route->name) && hs_empty (route->sub);
    for (size_t i = 0; i < body->n; i++) {
        if (!strcmp (body->keys[i], "apiVersion") || !strcmp (body->keys[i], "kind")) continue;
        if (create && !strcmp (body->keys[i], "status")) continue;
        /* "status":{} is what api_obj_tree writes for none (s_zero): on the
         * main resource it reads back as none, so an object round-trips */
        if (hs_empty (route->sub) && !strcmp (body->keys[i], "status") && body->items[i] &&
            body->items[i]->type == HS_TREE_MAP && body->items[i]->n == 0)
            continue;
        view.keys[view.n] = body->keys[i];
        view.items[view.n++] = body->items[i];
    }
    s_in_t c = {0};
    hs_tree_t *clean = s_in (&c, info->descriptor, &view, false);
    free (view.keys);
    free (view.items);

    if (c.n_unknown && v == API_VALIDATE_STRICT) {
        hs_buf_t b = {0};
        hs_buf_puts (&b, "strict decoding error: ");
        for (size_t i = 0; i < c.n_unknown; i++)
            hs_buf_printf (&b, "%sunknown field \"%s\"", i ? ", " : "", c.unknown[i]);
        if (c.more) hs_buf_printf (&b, ", and %zu more unknown fields", c.more);
        char *msg = hs_buf_take (&b);
        if (ret_status)
            *ret_status = api_status_new (400, "BadRequest", msg, HS_KIND_NONE, NULL, NULL, 0);
        free (msg);
        s_unknown_free (&c);
        hs_tree_free (clean);
        return -1;
    }
    if (v == API_VALIDATE_WARN)
        for (size_t i = 0; i < c.n_unknown; i++) api_warn (w, "unknown field \"%s\"", c.unknown[i]);
    s_unknown_free (&c);

    ProtobufCMessage *msg = NULL;
    hs_pb_error_t err = {0};
    int r = hs_pb_from_tree (info->descriptor, clean, "", &msg, &err);
    hs_tree_free (clean);
    if (r < 0) {
        const char *ver = strchr (info->api_version, '/');
        return s_bad (ret_status, "%s in version \"%s\" cannot be handled as a %s: %s%s%s",
                      info->kind_name, ver ? ver + 1 : info->api_version, info->kind_name, err.path,
                      *err.path ? ": " : "", err.message);
    }
    Hs__Object *o = hs_obj_wrap (route->kind, msg);
    Hs__ObjectMeta *m = s_meta (o);
    if (!m) { /* every kind has metadata: a programmer's error in the schema */
        hs_pb_free (o);
        return s_bad (ret_status, "%s has no metadata", info->kind_name);
    }
    if (info->namespaced) {
        if (hs_empty (m->namespace_))
            hs_pb_set_str (&m->namespace_, hs_empty (route->ns) ? NULL : route->ns);
        else if (!hs_empty (route->ns) && strcmp (m->namespace_, route->ns) != 0) {
            hs_pb_free (o);
            return s_bad (ret_status, "the namespace of the provided object does not match the "
                                      "namespace sent on the request");
        }
    } else {
        hs_pb_set_str (&m->namespace_, NULL); /* the apiserver clears it too */
    }
    if (!hs_empty (route->name)) {
        if (hs_empty (m->name))
            hs_pb_set_str (&m->name, route->name);
        else if (strcmp (m->name, route->name) != 0) {
            char *msg2 = hs_sprintf ("the name of the object (%.253s) does not match the name on "
                                     "the URL (%.253s)",
                                     m->name, route->name);
            hs_pb_free (o);
            s_bad (ret_status, "%s", msg2);
            free (msg2);
            return -1;
        }
    }
    *ret = o;
    return 0;
}
