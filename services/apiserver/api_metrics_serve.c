/*  api_metrics_serve.c: metrics.k8s.io/v1beta1 requests (issue 18;
 *  docs/architecture.md §24, "metrics.k8s.io").
 *
 *  The gateway's own connection follows `usage.` (sa:apiserver may read any
 *  topic) into an hs_usage_table_t: the latest sample of each node, stale
 *  after 3 x its interval (hs_usage.h). A request is answered at once from
 *  that table and the watch cache, as metrics-server answers from its
 *  store and its informers:
 *    GET nodes, nodes/NAME                     NodeMetrics(List)
 *    GET pods, namespaces/NS/pods[/NAME]       PodMetrics(List)
 *  Lists take labelSelector and fieldSelector (on the pods or nodes
 *  themselves) and leave out what has no fresh metrics; a get of an object
 *  that exists without metrics is metrics-server's 404
 *  (`podmetrics.metrics.k8s.io "default/web" not found`), of one that does
 *  not exist the lister's (`pods "web" not found`, `node "n1" not found`).
 *  Reads only: every other method is 405, watch too (metrics-server has
 *  none). Any authenticated user may read, tap: users included.
 */
#include "api_server.h"
#include "hs_log.h"
#include "hs_usage.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ following usage. */

static void s_on_usage (void *arg, const char *topic, const Hs__Envelope *env)
{
    hs_usage_table_t *t = arg;
    int r = env->body_case == HS__ENVELOPE__BODY_USAGE
                ? hs_usage_table_put (t, topic, env->usage, hs_mono_ns ())
                : hs_usage_table_put (t, topic, NULL, 0); /* counted as refused */
    if (r < 0 && hs_usage_table_refused (t) == 1)
        log_warn ("usage sample on %s refused (not a NodeUsage of that node); counting "
                  "further ones silently",
                  topic);
}

int api_metrics_follow (hs_client_t *client, hs_usage_table_t *table)
{
    return hs_client_on (client, "usage.", s_on_usage, table);
}

/* ------------------------------------------------------------ requests */

static void s_not_found (api_req_t *r, const char *what, const char *ns, const char *name)
{
    api_status_t st = api_status_fmt (404, "NotFound", "%s \"%s%s%s\" not found", what, hs_s (ns),
                                      hs_empty (ns) ? "" : "/", name);
    api_reply_status (r, &st);
}

static void s_reply (api_req_t *r, hs_tree_t *t)
{
    api_reply_tree (r, 200, t, NULL);
    hs_tree_free (t);
}

static void s_nodes (api_req_t *r, const api_route_t *rt, hs_usage_table_t *u, api_selector_t *sel,
                     int64_t now_mono, int64_t now)
{
    api_cache_t *c = api_server_cache (api_req_server (r));
    if (rt->name[0]) {
        const Hs__Object *o = api_cache_get (c, HS_KIND_NODE, "", rt->name);
        const Hs__NodeUsage *nu = u ? hs_usage_table_node (u, rt->name, now_mono) : NULL;
        if (!o)
            s_not_found (r, "node", "", rt->name);
        else if (!nu)
            s_not_found (r, "nodemetrics.metrics.k8s.io", "", rt->name);
        else
            s_reply (r, api_node_metrics_tree (o, nu, now, true));
        return;
    }
    const Hs__Object **objs = NULL;
    size_t n = api_cache_list (c, HS_KIND_NODE, "", &objs);
    hs_tree_t *items = hs_tree_new (HS_TREE_SEQ);
    for (size_t i = 0; i < n; i++) {
        if (!api_selector_match (sel, objs[i])) continue;
        const Hs__NodeUsage *nu =
            u ? hs_usage_table_node (u, hs_obj_meta (objs[i])->name, now_mono) : NULL;
        if (nu) hs_tree_add (items, NULL, api_node_metrics_tree (objs[i], nu, now, false));
    }
    free (objs);
    s_reply (r, api_metrics_list_tree ("NodeMetricsList", items));
}

/* The pod's usage and its node's sample, or NULL. */
static const Hs__PodUsage *s_pod_usage (hs_usage_table_t *u, const Hs__Object *o, int64_t now_mono,
                                        const Hs__NodeUsage **ret_node)
{
    const Hs__Pod *p = o->pod;
    if (!u || !p || !p->spec || hs_empty (p->spec->node_name)) return NULL;
    const Hs__PodUsage *pu = hs_usage_table_pod (u, p->spec->node_name, p->metadata->namespace_,
                                                 p->metadata->name, p->metadata->uid, now_mono);
    if (!pu || pu->n_containers == 0) return NULL;
    *ret_node = hs_usage_table_node (u, p->spec->node_name, now_mono);
    return pu;
}

static void s_pods (api_req_t *r, const api_route_t *rt, hs_usage_table_t *u, api_selector_t *sel,
                    int64_t now_mono, int64_t now)
{
    api_cache_t *c = api_server_cache (api_req_server (r));
    const Hs__NodeUsage *nu = NULL;
    if (rt->name[0]) {
        const Hs__Object *o = api_cache_get (c, HS_KIND_POD, rt->ns, rt->name);
        const Hs__PodUsage *pu = o ? s_pod_usage (u, o, now_mono, &nu) : NULL;
        if (!o)
            s_not_found (r, "pods", "", rt->name);
        else if (!pu)
            s_not_found (r, "podmetrics.metrics.k8s.io", rt->ns, rt->name);
        else
            s_reply (r, api_pod_metrics_tree (o, nu, pu, now, true));
        return;
    }
    const Hs__Object **objs = NULL;
    size_t n = api_cache_list (c, HS_KIND_POD, rt->ns, &objs);
    hs_tree_t *items = hs_tree_new (HS_TREE_SEQ);
    for (size_t i = 0; i < n; i++) {
        if (!api_selector_match (sel, objs[i])) continue;
        const Hs__PodUsage *pu = s_pod_usage (u, objs[i], now_mono, &nu);
        if (pu) hs_tree_add (items, NULL, api_pod_metrics_tree (objs[i], nu, pu, now, false));
    }
    free (objs);
    s_reply (r, api_metrics_list_tree ("PodMetricsList", items));
}

void api_metrics_handle (api_req_t *r)
{
    const api_route_t *rt = api_req_route (r);
    const api_query_t *q = api_req_query (r);
    if (api_req_method (r) != API_GET || api_query_bool (q, "watch", false)) {
        api_status_t st =
            api_status_fmt (405, "MethodNotAllowed",
                            "the server does not allow this method on the requested resource");
        api_reply_status (r, &st);
        return;
    }
    api_selector_t *sel = NULL;
    api_status_t st = {0};
    if (api_selector_parse (rt->kind, api_query_get (q, "labelSelector"),
                            api_query_get (q, "fieldSelector"), &sel, &st) < 0) {
        api_reply_status (r, &st);
        return;
    }
    hs_usage_table_t *u = api_server_usage (api_req_server (r));
    int64_t now_mono = hs_mono_ns (), now = hs_now_ns ();
    if (rt->kind == HS_KIND_NODE)
        s_nodes (r, rt, u, sel, now_mono, now);
    else
        s_pods (r, rt, u, sel, now_mono, now);
    api_selector_free (&sel);
}
