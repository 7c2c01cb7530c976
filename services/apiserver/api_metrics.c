/*  api_metrics.c: metrics.k8s.io/v1beta1 objects from the agents' usage
 *  samples, as metrics-server writes them (pure; services/apiserver/api.h).
 *
 *  metrics-server (pkg/storage, pkg/api) is the model:
 *    - metadata: the pod's or node's name, namespace and labels, and a
 *      creationTimestamp of now (the metrics object is made per request);
 *    - timestamp: when the sample was taken; window: the span its rates
 *      cover, as Go prints a Duration ("1s", "1.002s");
 *    - usage.cpu: the rate in nanocores as a canonical Quantity ("12345n",
 *      "12m"); usage.memory: the working set as a BinarySI Quantity
 *      ("1234Ki"); pods list their containers, each with its own usage;
 *    - list items carry no kind or apiVersion (Go's omitempty TypeMeta);
 *      the list's metadata is {}.
 */
#include "api.h"
#include "hs_pb.h"
#include "hs_usage.h"
#include "hs_util.h"

#include <stdlib.h>

#define S_METRICS_GV "metrics.k8s.io/v1beta1"

static hs_tree_t *s_str (const char *s)
{
    return hs_tree_scalar (hs_s (s), true);
}

static void s_add_str (hs_tree_t *t, const char *key, char *owned)
{
    hs_tree_add (t, key, s_str (owned));
    free (owned);
}

static hs_tree_t *s_meta (const Hs__ObjectMeta *m, bool namespaced, int64_t now_ns)
{
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    char buf[64];
    hs_tree_add (t, "name", s_str (m ? m->name : ""));
    if (namespaced) hs_tree_add (t, "namespace", s_str (m ? m->namespace_ : ""));
    hs_tree_add (t, "creationTimestamp", s_str (hs_fmt_time (now_ns, buf, sizeof buf)));
    if (m && m->n_labels) {
        hs_tree_t *l = hs_tree_new (HS_TREE_MAP);
        const hs_pb_map_entry_t **e = hs_pb_map_sorted ((void *const *)m->labels, m->n_labels);
        for (size_t i = 0; i < m->n_labels; i++) hs_tree_add (l, e[i]->key, s_str (e[i]->value));
        free (e);
        hs_tree_add (t, "labels", l);
    }
    return t;
}

static hs_tree_t *s_usage (uint64_t nanocores, int64_t ws_bytes)
{
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    s_add_str (t, "cpu", hs_usage_fmt_nanocores (nanocores));
    s_add_str (t, "memory", hs_usage_fmt_bytes (ws_bytes));
    return t;
}

/* kind, apiVersion (for one object), metadata, timestamp, window. */
static hs_tree_t *s_head (const char *kind, const Hs__ObjectMeta *m, bool namespaced,
                          const Hs__NodeUsage *u, int64_t now_ns, bool with_kind)
{
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    if (with_kind) {
        hs_tree_add (t, "kind", s_str (kind));
        hs_tree_add (t, "apiVersion", s_str (S_METRICS_GV));
    }
    hs_tree_add (t, "metadata", s_meta (m, namespaced, now_ns));
    char buf[64];
    hs_tree_add (t, "timestamp", s_str (hs_fmt_time (u->timestamp, buf, sizeof buf)));
    s_add_str (t, "window", hs_usage_fmt_duration ((int64_t)u->window_ms * 1000000LL));
    return t;
}

hs_tree_t *api_node_metrics_tree (const Hs__Object *node, const Hs__NodeUsage *u, int64_t now_ns,
                                  bool with_kind)
{
    hs_tree_t *t = s_head ("NodeMetrics", hs_obj_meta (node), false, u, now_ns, with_kind);
    hs_tree_add (t, "usage", s_usage (u->cpu_usage_nanocores, u->memory_working_set_bytes));
    return t;
}

hs_tree_t *api_pod_metrics_tree (const Hs__Object *pod, const Hs__NodeUsage *u,
                                 const Hs__PodUsage *p, int64_t now_ns, bool with_kind)
{
    hs_tree_t *t = s_head ("PodMetrics", hs_obj_meta (pod), true, u, now_ns, with_kind);
    hs_tree_t *cs = hs_tree_new (HS_TREE_SEQ);
    for (size_t i = 0; i < p->n_containers; i++) {
        const Hs__ContainerUsage *c = p->containers[i];
        hs_tree_t *ct = hs_tree_new (HS_TREE_MAP);
        hs_tree_add (ct, "name", s_str (c->name));
        hs_tree_add (ct, "usage", s_usage (c->cpu_usage_nanocores, c->memory_working_set_bytes));
        hs_tree_add (cs, NULL, ct);
    }
    hs_tree_add (t, "containers", cs);
    return t;
}

hs_tree_t *api_metrics_list_tree (const char *list_kind, hs_tree_t *items)
{
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (t, "kind", s_str (list_kind));
    hs_tree_add (t, "apiVersion", s_str (S_METRICS_GV));
    hs_tree_add (t, "metadata", hs_tree_new (HS_TREE_MAP));
    hs_tree_add (t, "items", items);
    return t;
}
