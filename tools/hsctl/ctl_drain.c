/*  ctl_drain.c: `hsctl drain NODE [--force] [--grace-period=N] [--timeout=S]`.
 *
 *  kubectl's drain: cordon the node, then evict every pod bound to it and
 *  wait until they are gone. Eviction here is the graceful delete (the agent
 *  stops the processes within the grace period, then removes the pod).
 *  Like kubectl it skips mirror pods (their static pods belong to the node)
 *  and finished pods need no waiting; it refuses to delete pods no
 *  controller will recreate unless --force.
 */
#include "ctl.h"
#include "hs_workload.h"

#include <string.h>
#include <time.h>

enum { S_OPT_FORCE = CTL_OPT_VERB_BASE, S_OPT_GRACE, S_OPT_TIMEOUT };

typedef struct {
    bool force;
    int64_t grace;   /* -1: each pod's own */
    int64_t timeout; /* seconds; 0: wait for ever */
} s_opts_t;

static const struct option s_longs[] = {
    {"force", no_argument, NULL, S_OPT_FORCE},
    {"grace-period", required_argument, NULL, S_OPT_GRACE},
    {"timeout", required_argument, NULL, S_OPT_TIMEOUT},
    {NULL, 0, NULL, 0},
};

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    (void)ctl;
    s_opts_t *o = arg;
    int64_t v;
    switch (c) {
    case S_OPT_FORCE: o->force = true; return 0;
    case S_OPT_GRACE:
    case S_OPT_TIMEOUT: {
        /* kubectl writes --timeout=90s: a trailing s is allowed */
        _cleanup_free_ char *num = hs_strdup (optarg);
        size_t len = strlen (num);
        if (c == S_OPT_TIMEOUT && len > 1 && num[len - 1] == 's') num[len - 1] = '\0';
        if (hs_parse_i64 (num, &v) < 0 || v < 0) {
            fprintf (stderr, "error: invalid argument \"%s\" for \"--%s\" flag\n", optarg,
                     c == S_OPT_GRACE ? "grace-period" : "timeout");
            return -1;
        }
        if (c == S_OPT_GRACE)
            o->grace = v;
        else
            o->timeout = v;
        return 0;
    }
    default: return -1;
    }
}

static bool s_mirror (const Hs__Pod *p)
{
    const Hs__ObjectMeta *m = p->metadata;
    return hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, HS_MIRROR_ANNOTATION);
}

static bool s_has_controller (const Hs__Pod *p)
{
    return hs_controller_ref (p->metadata) != NULL;
}

/* The pods bound to node that drain must evict. */
static size_t s_pods_on (const hs_db_snapshot_t *snap, const char *node, const Hs__Pod ***ret)
{
    const Hs__Pod **pods = NULL;
    size_t n = 0;
    for (size_t i = 0; i < snap->n_objects; i++) {
        const Hs__Object *o = snap->objects[i];
        if (hs_obj_kind (o) != HS_KIND_POD || !o->pod->spec) continue;
        if (!hs_streq (o->pod->spec->node_name, node) || s_mirror (o->pod)) continue;
        pods = hs_realloc (pods, (n + 1) * sizeof *pods);
        pods[n++] = o->pod;
    }
    *ret = pods;
    return n;
}

static int s_drain (ctl_t *ctl, const char *node, const s_opts_t *o)
{
    hs_kind_t kinds[] = {HS_KIND_NODE, HS_KIND_POD};
    hs_db_snapshot_t snap = {0};
    if (ctl_snapshot (ctl, kinds, 2, &snap) < 0) return 1;
    bool found = false;
    for (size_t i = 0; i < snap.n_objects && !found; i++) {
        const Hs__Object *obj = snap.objects[i];
        found = hs_obj_kind (obj) == HS_KIND_NODE && hs_streq (hs_obj_meta (obj)->name, node);
    }
    const Hs__Pod **pods;
    size_t n = s_pods_on (&snap, node, &pods);
    /* kubectl refuses before changing anything. */
    int bad = 0;
    for (size_t i = 0; found && !o->force && i < n; i++)
        if (!s_has_controller (pods[i])) bad++;
    if (bad) {
        fprintf (stderr,
                 "error: unable to drain node \"%s\" due to error: cannot delete Pods that declare "
                 "no controller (use --force to override):",
                 node);
        for (size_t i = 0; i < n; i++)
            if (!s_has_controller (pods[i]))
                fprintf (stderr, " %s/%s", pods[i]->metadata->namespace_, pods[i]->metadata->name);
        fprintf (stderr, "\n");
    }
    free (pods);
    hs_db_snapshot_free (&snap);
    if (!found) {
        fprintf (stderr, "Error from server (NotFound): nodes \"%s\" not found\n", node);
        return 1;
    }
    if (bad) return 1;
    if (ctl_cordon_node (ctl, node, true) != 0) return 1;

    time_t deadline = o->timeout > 0 ? time (NULL) + o->timeout : 0;
    bool announced = false;
    for (;;) {
        if (ctl_snapshot (ctl, kinds + 1, 1, &snap) < 0) return 1;
        n = s_pods_on (&snap, node, &pods);
        size_t left = 0;
        for (size_t i = 0; i < n; i++) {
            const Hs__ObjectMeta *m = pods[i]->metadata;
            left++;
            if (announced) continue;
            if (!o->force || s_has_controller (pods[i]))
                printf ("evicting pod %s/%s\n", m->namespace_, m->name);
            else
                printf ("Warning: deleting Pods that declare no controller: %s/%s\n", m->namespace_,
                        m->name);
            Hs__Write *w = hs_write_target (HS__OP__OP_DELETE, HS_KIND_POD, m->namespace_, m->name);
            hs_pb_set_str (&w->expected_uid, m->uid);
            if (o->grace >= 0) {
                w->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
                w->grace_period_seconds->value = o->grace;
            }
            Hs__Ack *ack = NULL;
            int r = ctl_call (ctl, &w, 1, false, &ack);
            hs_pb_free (w);
            if (r == 0 && ack->code != HS__CODE__CODE_OK && ack->code != HS__CODE__CODE_NOT_FOUND &&
                ack->code != HS__CODE__CODE_CONFLICT)
                fprintf (stderr, "error when evicting pods/\"%s\" -n \"%s\": %s\n", m->name,
                         m->namespace_, ack->message);
            hs_pb_free (ack);
        }
        free (pods);
        hs_db_snapshot_free (&snap);
        announced = true;
        if (left == 0) break;
        if (deadline && time (NULL) > deadline) {
            fprintf (stderr,
                     "error: unable to drain node \"%s\" due to error: global timeout reached: "
                     "%llds, %zu pods left\n",
                     node, (long long)o->timeout, left);
            return 1;
        }
        /* The agent finishes a pod when its processes are gone. */
        hs_client_process (ctl->client, 200);
    }
    printf ("node/%s drained\n", node);
    return 0;
}

int ctl_drain_main (ctl_t *ctl, int argc, char **argv)
{
    s_opts_t o = {.grace = -1};
    int first = ctl_parse (ctl, argc, argv, s_longs, "", s_opt, &o);
    if (first < 0) return 1;
    if (ctl->help) {
        printf (
            "Drain node in preparation for maintenance: cordon it, then evict its pods.\n\n"
            "Usage:\n  hsctl drain NODE [--force] [--grace-period=SECONDS] [--timeout=SECONDS]\n\n"
            "Mirror pods (static pods of the node) are skipped. Pods without a controller are\n"
            "refused unless --force.\n");
        return 0;
    }
    if (first + 1 != argc) {
        ctl_usage_error (ctl, "USAGE: drain NODE [flags]");
        return 1;
    }
    const char *node = argv[first];
    const char *slash = strchr (node, '/');
    if (slash) node = slash + 1;
    return s_drain (ctl, node, &o);
}
