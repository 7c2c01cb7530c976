/*  ctl_top.c: `hsctl top pods|nodes` (kubectl 1.32's `top`, issue 18), and
 *  the usage samples `hsctl describe node` shows.
 *
 *  No metrics server and no apiserver: hsctl subscribes to `usage.` itself,
 *  reads the pods and nodes from the store, and waits until every node that
 *  matters (the nodes asked for, or those running the pods asked for) has
 *  a fresh sample with a window, for at most 2 x the interval the nodes
 *  report (default 1 s, so ~2.5 s with the subscription's own start), then
 *  prints what it has as kubectl does (ctl_top_fmt.c). The staleness rule
 *  is hs_usage.h's, the same as hs-apiserver's metrics.k8s.io.
 *  Errors are kubectl's: `error: metrics not available yet`,
 *  `error: Metrics not available for pod default/web, age: 2m3.5s` (a pod
 *  older than kubectl's 2 minutes), `Error from server (NotFound):
 *  podmetrics.metrics.k8s.io "default/web" not found`.
 */
#include "ctl.h"
#include "ctl_fmt.h"
#include "hs_quantity.h"
#include "hs_usage.h"
#include "hs_workload.h"

#include <errno.h>
#include <string.h>

#define S_WAIT_MIN_MS  2500
#define S_WAIT_MAX_MS  30000
#define S_DESCRIBE_MS  1500
#define S_POD_DELAY_NS (120LL * 1000000000LL) /* kubectl's metricsCreationDelay */

enum {
    S_OPT_CONTAINERS = CTL_OPT_VERB_BASE,
    S_OPT_SORT_BY,
    S_OPT_NO_HEADERS,
    S_OPT_SUM,
    S_OPT_CAPACITY
};

typedef struct {
    const char *selector, *sort_by;
    bool containers, no_headers, sum, capacity;
} s_opts_t;

static const struct option s_longs[] = {
    {"selector", required_argument, NULL, 'l'},
    {"containers", no_argument, NULL, S_OPT_CONTAINERS},
    {"sort-by", required_argument, NULL, S_OPT_SORT_BY},
    {"no-headers", no_argument, NULL, S_OPT_NO_HEADERS},
    {"sum", no_argument, NULL, S_OPT_SUM},
    {"show-capacity", no_argument, NULL, S_OPT_CAPACITY},
    {NULL, 0, NULL, 0},
};

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_opts_t *o = arg;
    (void)ctl;
    switch (c) {
    case 'l': o->selector = optarg; return 0;
    case S_OPT_CONTAINERS: o->containers = true; return 0;
    case S_OPT_SORT_BY: o->sort_by = optarg; return 0;
    case S_OPT_NO_HEADERS: o->no_headers = true; return 0;
    case S_OPT_SUM: o->sum = true; return 0;
    case S_OPT_CAPACITY: o->capacity = true; return 0;
    default: return -1;
    }
}

static void s_usage (void)
{
    printf ("Display resource (CPU/memory) usage of pods or nodes, as the nodes' agents\n"
            "measure it (usage.<node>/ on the bus; no metrics server needed).\n\n"
            "Usage:\n"
            "  hsctl top pod [NAME | -l SELECTOR] [-n NS | -A] [--containers]\n"
            "                [--sort-by cpu|memory] [--no-headers] [--sum]\n"
            "  hsctl top node [NAME | -l SELECTOR] [--sort-by cpu|memory] [--no-headers]\n"
            "                 [--show-capacity]\n\n"
            "Options:\n"
            "  -l, --selector SEL   label selector (=, ==, !=, in, notin, exists)\n"
            "  --containers         one line per container (pods)\n"
            "  --sort-by FIELD      cpu or memory, largest first\n"
            "  --no-headers         no header line\n"
            "  --sum                the pods' totals under them\n"
            "  --show-capacity      nodes' percentages of capacity, not allocatable\n\n"
            "CPU(cores) is the rate over the agent's last window in millicores, MEMORY(bytes)\n"
            "the working set (usage minus inactive file) in MiB; nodes' percentages are of\n"
            "allocatable. A node silent for 3 intervals (at least 3 s) has no metrics.\n");
}

/* ------------------------------------------------------------ following usage. */

static void s_on_usage (void *arg, const char *topic, const Hs__Envelope *env)
{
    if (env->body_case == HS__ENVELOPE__BODY_USAGE)
        (void)hs_usage_table_put (arg, topic, env->usage, hs_mono_ns ()); /* others: ignored */
}

int ctl_usage_follow (ctl_t *ctl, hs_usage_table_t *table)
{
    if (ctl_connect (ctl) < 0) return -1;
    int r = hs_client_on (ctl->client, "usage.", s_on_usage, table);
    if (r < 0) {
        fprintf (stderr, "error: cannot subscribe to usage.: %s\n", strerror (-r));
        return -1;
    }
    return 0;
}

static bool s_all_heard (hs_usage_table_t *t, const char *const *nodes, size_t n, int64_t now)
{
    for (size_t i = 0; i < n; i++)
        if (!hs_usage_table_node (t, nodes[i], now)) return false;
    return true;
}

void ctl_usage_wait (ctl_t *ctl, hs_usage_table_t *t, const char *const *nodes, size_t n,
                     int wait_ms)
{
    int64_t start = hs_mono_ns ();
    for (;;) {
        int64_t now = hs_mono_ns ();
        if (s_all_heard (t, nodes, n, now)) return;
        /* a node reporting slower than the default gets 2 of its intervals */
        int64_t limit = wait_ms;
        for (size_t i = 0; i < n; i++) {
            const Hs__NodeUsage *u = hs_usage_table_last (t, nodes[i], NULL);
            if (u && 2LL * u->interval_ms + 500 > limit) limit = 2LL * u->interval_ms + 500;
        }
        if (limit > S_WAIT_MAX_MS) limit = S_WAIT_MAX_MS;
        int64_t left_ms = (start + limit * 1000000LL - now) / 1000000LL;
        if (left_ms <= 0) return;
        int r = hs_client_process (ctl->client, (int)(left_ms < 100 ? left_ms : 100));
        if (r < 0 && r != -EINTR) return;
    }
}

/* ------------------------------------------------------------ pods */

static bool s_pod_in (ctl_t *ctl, const Hs__Object *o, const char *name, ctl_selector_t *sel)
{
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    if (hs_obj_kind (o) != HS_KIND_POD || !m) return false;
    if (!ctl->all_ns && !hs_streq (m->namespace_, ctl->ns)) return false;
    if (name && !hs_streq (m->name, name)) return false;
    return ctl_selector_matches (sel, (void *const *)m->labels, m->n_labels);
}

/* kubectl's verifyEmptyMetrics: pods exist but none has metrics. */
static int s_no_pod_metrics (const Hs__Object *const *pods, size_t n, int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        const Hs__ObjectMeta *m = hs_obj_meta (pods[i]);
        int64_t age = now - m->creation_timestamp;
        if (age > S_POD_DELAY_NS) {
            _cleanup_free_ char *a = hs_usage_fmt_duration (age);
            fprintf (stderr, "error: Metrics not available for pod %s/%s, age: %s\n", m->namespace_,
                     m->name, a);
            return 1;
        }
    }
    fprintf (stderr, "error: metrics not available yet\n");
    return 1;
}

static int s_top_pods (ctl_t *ctl, const s_opts_t *o, const char *name, ctl_selector_t *sel,
                       hs_usage_table_t *t, const hs_db_snapshot_t *snap)
{
    const Hs__Object **pods = hs_calloc (snap->n_objects + 1, sizeof *pods);
    const char **nodes = hs_calloc (snap->n_objects + 1, sizeof *nodes);
    size_t np = 0, nn = 0;
    for (size_t i = 0; i < snap->n_objects; i++) {
        const Hs__Object *ob = snap->objects[i];
        if (!s_pod_in (ctl, ob, name, sel)) continue;
        pods[np++] = ob;
        const char *node = ob->pod->spec ? ob->pod->spec->node_name : NULL;
        if (hs_empty (node) || hs_pod_terminal (ob->pod)) continue;
        bool seen = false;
        for (size_t j = 0; j < nn && !seen; j++) seen = !strcmp (nodes[j], node);
        if (!seen) nodes[nn++] = node;
    }
    int rc = 0;
    if (name && np == 0) {
        fprintf (stderr, "Error from server (NotFound): pods \"%s\" not found\n", name);
        rc = 1;
        goto out;
    }
    ctl_usage_wait (ctl, t, nodes, nn, S_WAIT_MIN_MS);
    int64_t now_mono = hs_mono_ns ();
    size_t cap = 16, nr = 0;
    ctl_top_row_t *rows = hs_calloc (cap, sizeof *rows);
    for (size_t i = 0; i < np; i++) {
        const Hs__ObjectMeta *m = pods[i]->pod->metadata;
        const Hs__PodSpec *spec = pods[i]->pod->spec;
        const Hs__PodUsage *pu =
            spec ? hs_usage_table_pod (t, spec->node_name, m->namespace_, m->name, m->uid, now_mono)
                 : NULL;
        if (!pu || pu->n_containers == 0) continue;
        size_t k = o->containers ? pu->n_containers : 1;
        for (size_t c = 0; c < k; c++) {
            if (nr == cap) rows = hs_realloc (rows, (cap *= 2) * sizeof *rows);
            ctl_top_row_t *r = &rows[nr++];
            *r = (ctl_top_row_t){.ns = m->namespace_, .pod = m->name, .name = m->name};
            if (o->containers) {
                r->name = pu->containers[c]->name;
                r->nanocores = pu->containers[c]->cpu_usage_nanocores;
                r->ws_bytes = pu->containers[c]->memory_working_set_bytes;
            } else {
                hs_usage_pod_totals (pu, &r->nanocores, &r->ws_bytes);
            }
        }
    }
    if (nr == 0) {
        if (name)
            fprintf (
                stderr,
                "Error from server (NotFound): podmetrics.metrics.k8s.io \"%s/%s\" not found\n",
                ctl->ns, name);
        else if (np > 0)
            s_no_pod_metrics (pods, np, hs_now_ns ());
        else if (ctl->all_ns)
            fprintf (stderr, "No resources found\n");
        else
            fprintf (stderr, "No resources found in %s namespace.\n", ctl->ns);
        rc = (name || np > 0) ? 1 : 0;
    } else {
        _cleanup_free_ char *text = ctl_top_pods_text (rows, nr, ctl->all_ns, o->containers,
                                                       o->no_headers, o->sort_by, o->sum);
        fputs (text, stdout);
    }
    free (rows);
out:
    free (pods);
    free (nodes);
    return rc;
}

/* ------------------------------------------------------------ nodes */

static int s_top_nodes (const s_opts_t *o, ctl_t *ctl, const char *name, ctl_selector_t *sel,
                        hs_usage_table_t *t, const hs_db_snapshot_t *snap)
{
    const char **names = hs_calloc (snap->n_objects + 1, sizeof *names);
    ctl_top_row_t *rows = hs_calloc (snap->n_objects + 1, sizeof *rows);
    size_t n = 0;
    for (size_t i = 0; i < snap->n_objects; i++) {
        const Hs__Object *ob = snap->objects[i];
        const Hs__ObjectMeta *m = hs_obj_meta (ob);
        if (hs_obj_kind (ob) != HS_KIND_NODE || !m || (name && !hs_streq (m->name, name))) continue;
        if (!ctl_selector_matches (sel, (void *const *)m->labels, m->n_labels)) continue;
        hs_resources_t alloc;
        hs_node_allocatable (ob->node, &alloc);
        const Hs__NodeStatus *st = ob->node->status;
        if (o->capacity && st && st->capacity) { /* kubectl: the capacity list, as it is */
            alloc.cpu_milli = alloc.mem_bytes = 0;
            (void)hs_quantity_cpu_milli (hs_s (st->capacity->cpu), &alloc.cpu_milli);
            (void)hs_quantity_bytes (hs_s (st->capacity->memory), &alloc.mem_bytes);
        }
        rows[n] = (ctl_top_row_t){.name = m->name,
                                  .alloc_cpu_milli = alloc.cpu_milli,
                                  .alloc_mem_bytes = alloc.mem_bytes};
        names[n++] = m->name;
    }
    int rc = 0;
    ctl_usage_wait (ctl, t, names, n, S_WAIT_MIN_MS);
    int64_t now = hs_mono_ns ();
    size_t known = 0;
    for (size_t i = 0; i < n; i++) {
        const Hs__NodeUsage *u = hs_usage_table_node (t, names[i], now);
        rows[i].unknown = !u;
        if (!u) continue;
        known++;
        rows[i].nanocores = u->cpu_usage_nanocores;
        rows[i].ws_bytes = u->memory_working_set_bytes;
    }
    if (name && known == 0) {
        fprintf (stderr, "Error from server (NotFound): %s \"%s\" not found\n",
                 n ? "nodemetrics.metrics.k8s.io" : "node", name);
        rc = 1;
    } else if (known == 0) {
        fprintf (stderr, "error: metrics not available yet\n");
        rc = 1;
    } else {
        _cleanup_free_ char *text = ctl_top_nodes_text (rows, n, o->no_headers, o->sort_by);
        fputs (text, stdout);
    }
    free (rows);
    free (names);
    return rc;
}

int ctl_top_main (ctl_t *ctl, int argc, char **argv)
{
    s_opts_t o = {0};
    int first = ctl_parse (ctl, argc, argv, s_longs, "l:", s_opt, &o);
    if (first < 0) return 1;
    if (ctl->help || first >= argc) {
        s_usage ();
        return ctl->help ? 0 : 1;
    }
    const char *what = argv[first];
    bool pods = !strcmp (what, "pod") || !strcmp (what, "pods") || !strcmp (what, "po");
    bool nodes = !strcmp (what, "node") || !strcmp (what, "nodes") || !strcmp (what, "no");
    if (!pods && !nodes) {
        fprintf (stderr, "error: unknown command \"%s\" for \"hsctl top\"\n", what);
        return 1;
    }
    if (argc - first > 2) {
        ctl_usage_error (ctl, "hsctl top %s [NAME | -l label]", pods ? "pod" : "node");
        return 1;
    }
    const char *name = argc - first == 2 ? argv[first + 1] : NULL;
    if (!hs_empty (o.sort_by) && strcmp (o.sort_by, "cpu") && strcmp (o.sort_by, "memory")) {
        fprintf (stderr, "error: --sort-by accepts only cpu or memory\n");
        return 1;
    }
    if (name && !hs_empty (o.selector)) {
        fprintf (stderr, "error: only one of NAME or %s can be provided\n",
                 pods ? "selector" : "--selector");
        return 1;
    }
    ctl_selector_t *sel = NULL;
    if (!hs_empty (o.selector)) {
        char *err = NULL;
        sel = ctl_selector_parse (o.selector, &err);
        if (!sel) {
            fprintf (stderr, "error: %s\n", err);
            free (err);
            return 1;
        }
    }
    int rc = 1;
    hs_usage_table_t *t = hs_usage_table_new ();
    hs_db_snapshot_t snap = {0};
    /* subscribed first: samples arrive while the store answers */
    static const hs_kind_t kinds[] = {HS_KIND_POD, HS_KIND_NODE};
    if (ctl_usage_follow (ctl, t) == 0 && ctl_snapshot (ctl, kinds, 2, &snap) == 0)
        rc = pods ? s_top_pods (ctl, &o, name, sel, t, &snap)
                  : s_top_nodes (&o, ctl, name, sel, t, &snap);
    hs_db_snapshot_free (&snap);
    hs_usage_table_destroy (&t);
    ctl_selector_free (&sel);
    return rc;
}
