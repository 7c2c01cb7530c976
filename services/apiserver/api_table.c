/*  api_table.c: meta.k8s.io/v1 Tables, the server-side printing kubectl asks
 *  for (Accept: application/json;as=Table;v=v1;g=meta.k8s.io).
 *
 *  The columns and cells are hsctl's (ctl_columns / ctl_cells), so
 *  `kubectl get` prints what `hsctl get` prints. One Table carries the wide
 *  columns too: those `hsctl get` shows only with -o wide have priority 1,
 *  and kubectl hides them unless -o wide. Every row has a cell for every
 *  column (kubectl indexes cells by column). Column names are Kubernetes'
 *  ("Up-to-date"; kubectl upper-cases them for its header); the Name column
 *  has format "name", which is what makes kubectl print `pod/web` when it
 *  shows several kinds. Counting columns are "integer" with JSON numbers;
 *  AGE and the like are strings formatted here (kubectl prints cells as
 *  they come). Each row carries its object as asked (includeObject):
 *  PartialObjectMetadata by default, which is where kubectl finds the
 *  NAMESPACE of -A and the LABELS of --show-labels; the whole object for
 *  --sort-by (includeObject=Object).
 *
 *  Events come sorted by last timestamp, as hsctl prints them.
 */
#include "api.h"
#include "ctl_fmt.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ Accept */

static const char *s_skip_ws (const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    return p;
}

static size_t s_trim_len (const char *p, size_t len)
{
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
    return len;
}

/* Whether [p, p+len) equals s, case-insensitively. */
static bool s_ieq (const char *p, size_t len, const char *s)
{
    return strlen (s) == len && strncasecmp (p, s, len) == 0;
}

/* Whether [p, p+len) equals s, exactly or between double quotes. */
static bool s_value_eq (const char *p, size_t len, const char *s)
{
    if (len >= 2 && p[0] == '"' && p[len - 1] == '"') p++, len -= 2;
    return strlen (s) == len && memcmp (p, s, len) == 0;
}

/* One media range of an Accept header: application/json with as=Table,
 * g=meta.k8s.io, v=v1 (and not q=0). */
static bool s_media_is_table (const char *p, const char *end)
{
    const char *semi = memchr (p, ';', (size_t)(end - p));
    const char *type_end = semi ? semi : end;
    p = s_skip_ws (p, type_end);
    if (!s_ieq (p, s_trim_len (p, (size_t)(type_end - p)), "application/json")) return false;
    bool as = false, g = false, v = false;
    while (semi) {
        p = semi + 1;
        semi = memchr (p, ';', (size_t)(end - p));
        const char *pend = semi ? semi : end;
        p = s_skip_ws (p, pend);
        const char *eq = memchr (p, '=', (size_t)(pend - p));
        if (!eq) continue;
        size_t klen = s_trim_len (p, (size_t)(eq - p));
        const char *val = s_skip_ws (eq + 1, pend);
        size_t vlen = s_trim_len (val, (size_t)(pend - val));
        if (s_ieq (p, klen, "as"))
            as = s_value_eq (val, vlen, "Table");
        else if (s_ieq (p, klen, "g"))
            g = s_value_eq (val, vlen, "meta.k8s.io");
        else if (s_ieq (p, klen, "v"))
            v = s_value_eq (val, vlen, "v1");
        else if (s_ieq (p, klen, "q")) {
            /* q=0 (0, 0.0, 0.000) refuses the type */
            bool zero = vlen > 0;
            for (size_t i = 0; i < vlen; i++)
                if (val[i] != '0' && val[i] != '.') zero = false;
            if (zero) return false;
        }
    }
    return as && g && v;
}

bool api_table_wanted (const char *accept)
{
    if (!accept) return false;
    const char *p = accept, *end = accept + strlen (accept);
    while (p < end) {
        const char *comma = memchr (p, ',', (size_t)(end - p));
        const char *mend = comma ? comma : end;
        if (s_media_is_table (p, mend)) return true;
        p = comma ? comma + 1 : end;
    }
    return false;
}

/* ------------------------------------------------------------ columns */

/* hsctl's header -> Kubernetes' column name and description. */
typedef struct {
    const char *header;
    const char *name;
    const char *description;
} s_col_t;

static const s_col_t s_cols[] = {
    {"NAME", "Name",
     "Name must be unique within a namespace. More info: "
     "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"},
    {"READY", "Ready", "The number of ready replicas or containers."},
    {"STATUS", "Status", "The aggregate status."},
    {"RESTARTS", "Restarts",
     "The number of times the containers in this pod have been restarted and when the last "
     "container in this pod has restarted."},
    {"AGE", "Age",
     "CreationTimestamp is a timestamp representing the server time when this object was "
     "created."},
    {"IP", "IP", "podIP address allocated to the pod."},
    {"NODE", "Node", "NodeName the pod is bound to."},
    {"ROLES", "Roles", "The roles of the node."},
    {"VERSION", "Version", "The version of the node's agent."},
    {"INTERNAL-IP", "Internal-IP", "The node's internal address."},
    {"OS-IMAGE", "OS-Image", "The node's operating system image."},
    {"KERNEL-VERSION", "Kernel-Version", "The node's kernel version."},
    {"DESIRED", "Desired", "Number of desired pods."},
    {"CURRENT", "Current", "The most recently observed number of replicas."},
    {"UP-TO-DATE", "Up-to-date",
     "Total number of non-terminated pods targeted by this deployment that have the desired "
     "template spec."},
    {"AVAILABLE", "Available",
     "Total number of available pods (ready for at least minReadySeconds) targeted by this "
     "deployment."},
    {"CONTAINERS", "Containers", "Names of each container in the template."},
    {"IMAGES", "Images", "Images referenced by each container in the template."},
    {"SELECTOR", "Selector", "Label query over pods."},
    {"COMPLETIONS", "Completions", "The number of succeeded pods of the desired completions."},
    {"DURATION", "Duration", "Time required to complete the job."},
    {"TYPE", "Type", "The type."},
    {"CLUSTER-IP", "Cluster-IP", "The IP address of the service."},
    {"EXTERNAL-IP", "External-IP", "The external IP addresses of the service."},
    {"PORT(S)", "Port(s)", "The ports exposed by the service."},
    {"ENDPOINTS", "Endpoints", "Endpoints of the service."},
    {"DATA", "Data", "The number of keys."},
    {"LAST SEEN", "Last Seen", "The time at which the most recent occurrence was recorded."},
    {"REASON", "Reason", "A short, machine understandable reason for the event."},
    {"OBJECT", "Object", "The object this event is about."},
    {"SUBOBJECT", "Subobject", "The part of the object this event is about."},
    {"SOURCE", "Source", "The component reporting this event."},
    {"MESSAGE", "Message", "A human-readable description of the event."},
    {"FIRST SEEN", "First Seen", "The time at which the event was first recorded."},
    {"COUNT", "Count", "The number of times this event has occurred."},
    {"REFERENCE", "Reference", "The target resource to scale (scaleTargetRef)."},
    {"TARGETS", "Targets", "The metrics' current values against their targets."},
    {"MINPODS", "MinPods", "The lower limit of replicas the autoscaler can scale down to."},
    {"MAXPODS", "MaxPods", "The upper limit of replicas the autoscaler can scale up to."},
    {"REPLICAS", "Replicas", "Current number of replicas of pods managed by this autoscaler."},
};

static const s_col_t *s_col (const char *header)
{
    for (size_t i = 0; i < HS_ARRAY_LEN (s_cols); i++)
        if (!strcmp (s_cols[i].header, header)) return &s_cols[i];
    return NULL;
}

/* Columns whose cells are counts: JSON numbers, type "integer". (A pod's
 * RESTARTS is not one: "2 (5m ago)".) */
static bool s_col_integer (hs_kind_t kind, const char *header)
{
    static const char *const counts[] = {"DESIRED", "CURRENT", "UP-TO-DATE", "AVAILABLE",
                                         "DATA",    "COUNT",   "MAXPODS",    "REPLICAS"};
    for (size_t i = 0; i < HS_ARRAY_LEN (counts); i++)
        if (!strcmp (header, counts[i])) return true;
    return kind == HS_KIND_REPLICASET && !strcmp (header, "READY");
}

static hs_tree_t *s_str (const char *s)
{
    return hs_tree_scalar (s, true);
}

static hs_tree_t *s_column_def (const char *name, const char *type, const char *format,
                                const char *description, int priority)
{
    hs_tree_t *c = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (c, "name", s_str (name));
    hs_tree_add (c, "type", s_str (type));
    hs_tree_add (c, "format", s_str (format));
    hs_tree_add (c, "description", s_str (description));
    char prio[16];
    snprintf (prio, sizeof prio, "%d", priority);
    hs_tree_add (c, "priority", hs_tree_scalar (prio, false));
    return c;
}

/* A table's columns as this module lays them out. */
typedef struct {
    const char *headers[CTL_MAX_COLS];
    bool integer[CTL_MAX_COLS];
    size_t n;
} s_layout_t;

static hs_tree_t *s_column_defs (hs_kind_t kind, s_layout_t *lay)
{
    const char *narrow[CTL_MAX_COLS];
    size_t n_narrow = ctl_columns (kind, false, narrow);
    lay->n = ctl_columns (kind, true, lay->headers);
    hs_tree_t *defs = hs_tree_new (HS_TREE_SEQ);
    for (size_t i = 0; i < lay->n; i++) {
        const char *h = lay->headers[i];
        int priority = 1;
        for (size_t j = 0; j < n_narrow; j++)
            if (!strcmp (narrow[j], h)) priority = 0;
        const s_col_t *c = s_col (h);
        lay->integer[i] = s_col_integer (kind, h);
        hs_tree_add (defs, NULL,
                     s_column_def (c ? c->name : h, lay->integer[i] ? "integer" : "string",
                                   !strcmp (h, "NAME") ? "name" : "", c ? c->description : "",
                                   priority));
    }
    return defs;
}

/* ------------------------------------------------------------ rows */

/* Whether s is a decimal integer as JSON writes one. */
static bool s_is_int (const char *s)
{
    if (*s == '-') s++;
    if (!isdigit ((unsigned char)*s)) return false;
    if (*s == '0' && s[1]) return false;
    for (; *s; s++)
        if (!isdigit ((unsigned char)*s)) return false;
    return true;
}

/* A cell from a heap string ctl_cells made: the tree takes it. Tabs and
 * line breaks become spaces, as hsctl prints them (ctl_row_append): an
 * event message over two lines would break kubectl's table. */
static hs_tree_t *s_cell (char *text, bool integer)
{
    hs_tree_t *t = hs_tree_new (HS_TREE_SCALAR);
    t->scalar = text ? text : hs_strdup ("");
    for (char *p = t->scalar; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r') *p = ' ';
    t->quoted = !(integer && s_is_int (t->scalar));
    return t;
}

/* A SEQ of n items, its array made at once (rows of a big list). */
static hs_tree_t *s_seq_sized (size_t n)
{
    hs_tree_t *t = hs_tree_new (HS_TREE_SEQ);
    if (n) t->items = hs_calloc (n, sizeof (hs_tree_t *));
    return t;
}

static hs_tree_t *s_row_object (const Hs__Object *o, api_include_t inc)
{
    switch (inc) {
    case API_INCLUDE_NONE: return NULL;
    case API_INCLUDE_OBJECT: return api_obj_tree (o);
    case API_INCLUDE_METADATA: break;
    }
    return api_obj_meta_tree (o);
}

static hs_tree_t *s_row (const Hs__Object *o, const s_layout_t *lay, api_include_t inc,
                         int64_t now_ns)
{
    char *cells[CTL_MAX_COLS + 2] = {0};
    size_t nc = ctl_cells (o, true, now_ns, cells);
    hs_tree_t *row = hs_tree_new (HS_TREE_MAP);
    hs_tree_t *seq = s_seq_sized (lay->n);
    /* a cell for every column, whatever ctl_cells gave (an object without
     * metadata, or of another kind, gives fewer) */
    for (size_t i = 0; i < lay->n; i++)
        seq->items[i] = s_cell (i < nc ? cells[i] : NULL, lay->integer[i]);
    seq->n = lay->n;
    for (size_t i = lay->n; i < nc; i++) free (cells[i]);
    hs_tree_add (row, "cells", seq);
    hs_tree_t *obj = s_row_object (o, inc);
    if (obj) hs_tree_add (row, "object", obj);
    return row;
}

static hs_tree_t *s_table_new (hs_tree_t *defs, int64_t rv)
{
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (t, "kind", s_str ("Table"));
    hs_tree_add (t, "apiVersion", s_str ("meta.k8s.io/v1"));
    hs_tree_t *meta = hs_tree_new (HS_TREE_MAP);
    if (rv > 0) {
        char buf[32];
        snprintf (buf, sizeof buf, "%lld", (long long)rv);
        hs_tree_add (meta, "resourceVersion", s_str (buf));
    }
    hs_tree_add (t, "metadata", meta);
    hs_tree_add (t, "columnDefinitions", defs);
    return t;
}

hs_tree_t *api_table (hs_kind_t kind, const Hs__Object *const *objs, size_t n, api_include_t inc,
                      int64_t rv, int64_t now_ns)
{
    s_layout_t lay;
    hs_tree_t *t = s_table_new (s_column_defs (kind, &lay), rv);
    const Hs__Object **sorted = NULL;
    if (kind == HS_KIND_EVENT && n > 1) {
        /* by last timestamp, as hsctl prints them */
        sorted = hs_malloc (n * sizeof (*sorted));
        memcpy (sorted, objs, n * sizeof (*sorted));
        ctl_sort_objects (sorted, n);
        objs = sorted;
    }
    hs_tree_t *rows = s_seq_sized (n);
    for (size_t i = 0; i < n; i++) rows->items[rows->n++] = s_row (objs[i], &lay, inc, now_ns);
    free (sorted);
    hs_tree_add (t, "rows", rows);
    return t;
}

/* ------------------------------------------------------------ namespaces */

hs_tree_t *api_table_namespaces (const char *const *names, const int64_t *created_ns, size_t n,
                                 int64_t rv, int64_t now_ns)
{
    hs_tree_t *defs = hs_tree_new (HS_TREE_SEQ);
    hs_tree_add (defs, NULL,
                 s_column_def ("Name", "string", "name", s_col ("NAME")->description, 0));
    hs_tree_add (defs, NULL,
                 s_column_def ("Status", "string", "", "The status of the namespace", 0));
    hs_tree_add (defs, NULL, s_column_def ("Age", "string", "", s_col ("AGE")->description, 0));
    hs_tree_t *t = s_table_new (defs, rv);
    hs_tree_t *rows = s_seq_sized (n);
    for (size_t i = 0; i < n; i++) {
        char age[32];
        hs_tree_t *row = hs_tree_new (HS_TREE_MAP);
        hs_tree_t *cells = hs_tree_new (HS_TREE_SEQ);
        hs_tree_add (cells, NULL, s_str (names[i]));
        hs_tree_add (cells, NULL, s_str ("Active"));
        hs_tree_add (cells, NULL, s_str (hs_fmt_age (created_ns[i], now_ns, age, sizeof age)));
        hs_tree_add (row, "cells", cells);
        /* the whole Namespace: its metadata is there for -A/--show-labels,
         * and all of it for --sort-by */
        hs_tree_add (row, "object", api_namespace_tree (names[i], created_ns[i]));
        rows->items[rows->n++] = row;
    }
    hs_tree_add (t, "rows", rows);
    return t;
}
