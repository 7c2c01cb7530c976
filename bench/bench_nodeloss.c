/*  bench_nodeloss.c: bench-nodeloss, how long the pods of a lost node take
 *  to run elsewhere: hs-prober (silence -> NotReady -> pods Failed/NodeLost)
 *  + hs-replicas (replacements) + hs-scheduler (binds) + the agents, all on
 *  their default flags (the prober's grace 1 s, eviction timeout 1 s more).
 *
 *  Spawns hs-bus, hs-store (durable by default), hs-scheduler, hs-replicas
 *  and hs-prober. Then two scenarios, each a number of rounds:
 *
 *    hollow  keepers: `hs-hollow K` (keep-0..); each round a new
 *            `hs-hollow 1` process (the victim, v<r>-0) gets all
 *            the pods of a ReplicaSet (the keepers are cordoned meanwhile),
 *            the keepers are uncordoned, and the victim process is killed
 *            (SIGKILL): its node falls silent with its pods;
 *    real    (root, cgroups) the same with real agents: a keeper node and a
 *            victim agent per round, killed with its workloads (its shims
 *            and everything in its cgroups), pods real sleep processes.
 *
 *  Measured from the kill (our clock) to store commit times (the store's
 *  clock; same machine) seen in the bus events: the victim Node not Ready,
 *  all its pods Failed, all replacements created, all replacements Running
 *  on other nodes. After each round the ReplicaSet, its pods and the dead
 *  Node are deleted. Prints a table (p50/p99/max over the rounds); no
 *  pass/fail.
 */
#include "benchlib.h"
#include "hs_client.h"
#include "hs_manifest.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS 1000000LL

enum { F_FAILED = 1, F_CREATED = 2, F_RUNNING = 4 };

typedef struct {
    hs_client_t *cl;
    hs_watch_t *w;
    int64_t sched_rev;
    /* the round being measured */
    char victim[64];
    char app[32];
    int n;
    int64_t t_kill;                                     /* wall ns, our clock; 0: not killed yet */
    int64_t t_notready, t_failed, t_created, t_running; /* store commit times; 0: not yet */
    zhashx_t *seen;                                     /* pod name -> F_* flags */
    int n_failed, n_created, n_running;
} bench_t;

/* One scenario's samples, ns from the kill. */
typedef struct {
    bl_samples_t notready, failed, created, running;
    int rounds, timeouts;
} stats_t;

/* ------------------------------------------------------------------ cleanup (real agents) */

/* What the exit and signal paths need, in fixed storage (bench_podstart's
 * way): every shim whose command line names our temp dir, every process in
 * our cgroups, and the cgroups themselves. */
static char s_cg_parent[64];
static char s_tmp[PATH_MAX];

/* A real node's workloads: its shims (--state under its state dir) and
 * whatever is in its cgroups. */
static void s_kill_node_workloads (const char *node)
{
    char needle[PATH_MAX + 128];
    snprintf (needle, sizeof needle, "%sagent-%s/", s_tmp, node);
    for (int pass = 0; pass < 3; pass++) {
        bl_kill_cmdline (needle);
        bl_cgroup_kill (s_cg_parent, node);
    }
}

/* Every shim of ours and everything in our cgroups, then the cgroups. Once;
 * at exit, on a signal (bl_cleanup_first) or at the end. */
static void s_cleanup_workloads (void)
{
    static bool done;
    if (done || !s_cg_parent[0]) return;
    done = true;
    for (int pass = 0; pass < 3; pass++) {
        if (s_tmp[0]) bl_kill_cmdline (s_tmp);
        bl_cgroup_kill (s_cg_parent, NULL);
    }
    bl_cgroup_remove (s_cg_parent, NULL);
}

/* ------------------------------------------------------------------ bus */

static void s_pump (bench_t *b, int ms)
{
    int r = hs_client_process (b->cl, ms);
    if (r < 0 && r != -EINTR) bl_die ("the bus failed: %s", strerror (-r));
}

static const char *s_ready (const Hs__Node *n)
{
    for (size_t i = 0; n && n->status && i < n->status->n_conditions; i++)
        if (hs_streq (n->status->conditions[i]->type, "Ready"))
            return hs_s (n->status->conditions[i]->status);
    return "";
}

static const char *s_app (const Hs__Pod *p)
{
    const Hs__ObjectMeta *m = p ? p->metadata : NULL;
    return m ? hs_pb_map_get ((void *const *)m->labels, m->n_labels, "app") : NULL;
}

static void s_on_ev (void *arg, const char *topic, const Hs__Envelope *env)
{
    bench_t *b = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_EVENT || !env->event->object || !b->t_kill) return;
    const Hs__WatchEvent *ev = env->event;
    if (ev->type == HS__EVENT_TYPE__DELETED) return;
    const Hs__Object *o = ev->object;
    int64_t at = ev->committed_at_ns;
    if (hs_obj_kind (o) == HS_KIND_NODE) {
        if (o->node->metadata && hs_streq (o->node->metadata->name, b->victim) && !b->t_notready &&
            !hs_streq (s_ready (o->node), "True"))
            b->t_notready = at;
        return;
    }
    const Hs__Pod *p = o->pod;
    if (hs_obj_kind (o) != HS_KIND_POD || !p->metadata || !p->spec || !p->status) return;
    if (!hs_streq (s_app (p), b->app)) return;
    uintptr_t f = (uintptr_t)zhashx_lookup (b->seen, p->metadata->name);
    uintptr_t was = f;
    const char *node = p->spec->node_name;
    if (!(f & F_FAILED) && hs_streq (node, b->victim) && hs_streq (p->status->phase, "Failed")) {
        f |= F_FAILED;
        if (++b->n_failed == b->n) b->t_failed = at;
    }
    if (!(f & F_CREATED) && p->metadata->creation_timestamp >= b->t_kill) {
        f |= F_CREATED;
        if (++b->n_created == b->n) b->t_created = p->metadata->creation_timestamp;
    }
    if (!(f & F_RUNNING) && !hs_empty (node) && !hs_streq (node, b->victim) &&
        hs_streq (p->status->phase, "Running")) {
        f |= F_RUNNING;
        if (++b->n_running == b->n) b->t_running = at;
    }
    if (f != was) {
        zhashx_delete (b->seen, p->metadata->name);
        zhashx_insert (b->seen, p->metadata->name, (void *)f);
    }
}

static void s_on_sched_hb (void *arg, const char *topic, const Hs__Envelope *env)
{
    bench_t *b = arg;
    (void)topic;
    if (env->body_case == HS__ENVELOPE__BODY_HEARTBEAT &&
        env->heartbeat->observed_revision > b->sched_rev)
        b->sched_rev = env->heartbeat->observed_revision;
}

/* ------------------------------------------------------------------ cache reads */

static bool s_node_ready (bench_t *b, const char *name)
{
    const Hs__Object *o = hs_watch_get (b->w, HS_KIND_NODE, NULL, name);
    return o && hs_streq (s_ready (o->node), "True");
}

static int s_count_nodes_ready (bench_t *b, const char *prefix)
{
    const Hs__Object **v = NULL;
    size_t n = hs_watch_list (b->w, HS_KIND_NODE, &v);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i]->node->metadata && hs_startswith (v[i]->node->metadata->name, prefix) &&
            hs_streq (s_ready (v[i]->node), "True"))
            k++;
    free (v);
    return k;
}

/* Pods of app Running on node (on_node) or anywhere else (!on_node); and
 * all pods of app (ret_total, may be NULL). */
static int s_count_running (bench_t *b, const char *app, const char *node, bool on_node,
                            int *ret_total)
{
    const Hs__Object **v = NULL;
    size_t n = hs_watch_list (b->w, HS_KIND_POD, &v);
    int k = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        const Hs__Pod *p = v[i]->pod;
        if (!hs_streq (s_app (p), app) || !p->spec) continue;
        total++;
        if (!p->status || !hs_streq (p->status->phase, "Running")) continue;
        if (hs_streq (p->spec->node_name, node) == on_node) k++;
    }
    free (v);
    if (ret_total) *ret_total = total;
    return k;
}

/* ------------------------------------------------------------------ writes */

static void s_call (bench_t *b, Hs__Write **w, size_t n, bool must)
{
    Hs__Ack *ack = NULL;
    hs_call_opts_t opts = {.timeout_ms = 30000};
    int r = hs_client_call (b->cl, w, n, &opts, &ack);
    for (size_t i = 0; i < n; i++) hs_pb_free (w[i]);
    if (r < 0) bl_die ("no answer from hs-store: %s", strerror (-r));
    if (must && ack->code != HS__CODE__CODE_OK)
        bl_die ("hs-store refused: %s: %s", hs_code_reason (ack->code), hs_s (ack->message));
    hs_pb_free (ack);
}

static void s_apply_yaml (bench_t *b, const char *yaml)
{
    hs_manifest_t m = {0};
    char *err = NULL;
    if (hs_manifest_parse (yaml, strlen (yaml), "bench", &m, &err) < 0)
        bl_die ("bad manifest: %s", err);
    for (size_t i = 0; i < m.n; i++) {
        Hs__Write *w = hs_write_new (HS__OP__OP_APPLY, m.docs[i].object);
        m.docs[i].object = NULL;
        s_call (b, &w, 1, true);
    }
    hs_manifest_free (&m);
}

/* (Un)cordons the nodes named prefix*: their own spec with unschedulable. */
static void s_cordon (bench_t *b, const char *prefix, bool on)
{
    const Hs__Object **v = NULL;
    size_t n = hs_watch_list (b->w, HS_KIND_NODE, &v);
    Hs__Write **w = hs_calloc (n + 1, sizeof *w);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const Hs__Node *node = v[i]->node;
        if (!node->metadata || !hs_startswith (node->metadata->name, prefix)) continue;
        Hs__Node *c = hs_pb_dup (node);
        hs_pb_free (c->status);
        c->status = NULL;
        if (!c->spec) c->spec = hs_pb_new (&hs__node_spec__descriptor);
        c->spec->unschedulable = on;
        w[k++] = hs_write_new (HS__OP__OP_UPDATE, hs_obj_wrap (HS_KIND_NODE, &c->base));
    }
    free (v);
    if (k) s_call (b, w, k, true);
    free (w);
}

static bool s_cordoned (bench_t *b, const char *prefix, bool on)
{
    const Hs__Object **v = NULL;
    size_t n = hs_watch_list (b->w, HS_KIND_NODE, &v);
    bool all = true;
    for (size_t i = 0; i < n; i++) {
        const Hs__Node *node = v[i]->node;
        if (!node->metadata || !hs_startswith (node->metadata->name, prefix)) continue;
        if ((node->spec && node->spec->unschedulable) != on) all = false;
    }
    free (v);
    return all;
}

static void s_delete (bench_t *b, hs_kind_t kind, const char *ns, const char *name, bool now)
{
    Hs__Write *w = hs_write_target (HS__OP__OP_DELETE, kind, ns, name);
    if (now) w->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
    s_call (b, &w, 1, false); /* NotFound is fine */
}

/* Pumps until pred holds; dies after timeout_ms. */
typedef bool (s_pred_fn) (bench_t *b, const void *arg);
static void s_wait (bench_t *b, s_pred_fn *pred, const void *arg, int timeout_ms, const char *what,
                    const char *log)
{
    int64_t deadline = hs_mono_ns () + timeout_ms * MS;
    while (!pred (b, arg)) {
        if (hs_mono_ns () > deadline) {
            if (log) bl_tail_log (log, 20);
            bl_die ("timed out after %d ms waiting for %s", timeout_ms, what);
        }
        s_pump (b, 20);
    }
}

static bool s_p_node_ready (bench_t *b, const void *arg)
{
    return s_node_ready (b, arg);
}

static bool s_p_sched_caught_up (bench_t *b, const void *arg)
{
    (void)arg;
    return b->sched_rev >= hs_watch_revision (b->w);
}

typedef struct {
    const char *prefix;
    bool on;
    int count;
} s_nodes_arg_t;

static bool s_p_cordoned (bench_t *b, const void *arg)
{
    const s_nodes_arg_t *a = arg;
    return s_cordoned (b, a->prefix, a->on);
}

static bool s_p_nodes_ready (bench_t *b, const void *arg)
{
    const s_nodes_arg_t *a = arg;
    return s_count_nodes_ready (b, a->prefix) >= a->count;
}

static bool s_p_all_on_victim (bench_t *b, const void *arg)
{
    (void)arg;
    return s_count_running (b, b->app, b->victim, true, NULL) == b->n;
}

static bool s_p_app_gone (bench_t *b, const void *arg)
{
    int total = 0;
    s_count_running (b, arg, "", true, &total);
    return total == 0;
}

/* ------------------------------------------------------------------ a round */

static void s_rs (bench_t *b, bool real)
{
    _cleanup_free_ char *y = hs_sprintf (
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: %s, namespace: default}\n"
        "spec:\n  replicas: %d\n  selector: {matchLabels: {app: %s}}\n  template:\n"
        "    metadata: {labels: {app: %s}}\n    spec:\n      terminationGracePeriodSeconds: 1\n"
        "      containers:\n      - name: main\n        command: [%s, \"3600\"]\n"
        "        resources: {requests: {cpu: 10m, memory: 16Mi}}\n",
        b->app, b->n, b->app, b->app, real ? "/bin/sleep" : "sleep");
    s_apply_yaml (b, y);
}

/* The victim holds all the pods; the keepers (keep_prefix*) are open again;
 * kill it (kill_fn does the rest: workloads) and measure. */
static void s_measure (bench_t *b, pid_t victim, const char *keep_prefix, int timeout_s,
                       void (*kill_fn) (const char *node), stats_t *st, const char *log)
{
    s_cordon (b, keep_prefix, false);
    s_nodes_arg_t open = {keep_prefix, false, 0};
    s_wait (b, s_p_cordoned, &open, 20000, "the keepers uncordoned", NULL);
    s_wait (b, s_p_sched_caught_up, NULL, 20000, "hs-scheduler to see the keepers", NULL);
    zhashx_purge (b->seen);
    b->n_failed = b->n_created = b->n_running = 0;
    b->t_notready = b->t_failed = b->t_created = b->t_running = 0;
    b->t_kill = hs_now_ns ();
    kill (victim, SIGKILL);
    if (kill_fn) kill_fn (b->victim);
    bl_stop (victim); /* reaps it */
    int64_t deadline = hs_mono_ns () + (int64_t)timeout_s * 1000 * MS;
    while (!b->t_running && hs_mono_ns () < deadline) {
        s_pump (b, 20);
        /* events the bus dropped: the cache has the count, not the time */
        if (!b->t_running && s_count_running (b, b->app, b->victim, false, NULL) >= b->n)
            b->t_running = hs_now_ns ();
    }
    st->rounds++;
    if (!b->t_running) {
        st->timeouts++;
        fprintf (stderr, "bench-nodeloss: round %s: %d of %d pods Running elsewhere after %d s\n",
                 b->app, b->n_running, b->n, timeout_s);
        if (log) bl_tail_log (log, 10);
    }
#define SAMPLE(s, t)                                                                               \
    if (t) bl_samples_add (&(s), (uint64_t)((t) > b->t_kill ? (t)-b->t_kill : 0))
    SAMPLE (st->notready, b->t_notready);
    SAMPLE (st->failed, b->t_failed);
    SAMPLE (st->created, b->t_created);
    SAMPLE (st->running, b->t_running);
    b->t_kill = 0;
    /* clean up: the ReplicaSet, its pods, the dead node */
    s_delete (b, HS_KIND_REPLICASET, "default", b->app, false);
    const Hs__Object **v = NULL;
    size_t n = hs_watch_list (b->w, HS_KIND_POD, &v);
    char **names = hs_calloc (n + 1, sizeof *names);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (hs_streq (s_app (v[i]->pod), b->app))
            names[k++] = hs_strdup (v[i]->pod->metadata->name);
    free (v);
    for (size_t i = 0; i < k; i++) {
        s_delete (b, HS_KIND_POD, "default", names[i], true);
        free (names[i]);
    }
    free (names);
    s_delete (b, HS_KIND_NODE, NULL, b->victim, false);
    s_wait (b, s_p_app_gone, b->app, 30000, "the round's pods deleted", NULL);
}

/* ------------------------------------------------------------------ report */

static void s_row (const char *what, bl_samples_t *s)
{
    char p50[32], p99[32], max[32];
    bl_samples_sort (s);
    printf ("   %-34s %6zu %10s %10s %10s\n", what, s->n,
            s->n ? bl_fmt_ns (bl_pct (s, 50), p50, 32) : "-",
            s->n ? bl_fmt_ns (bl_pct (s, 99), p99, 32) : "-",
            s->n ? bl_fmt_ns (bl_pct (s, 100), max, 32) : "-");
}

static void s_report (const char *title, stats_t *st)
{
    printf ("\n%s: %d rounds%s\n", title, st->rounds, st->timeouts ? "" : ", every one complete");
    if (st->timeouts) printf ("   %d round(s) timed out (not in the last row)\n", st->timeouts);
    printf ("   %-34s %6s %10s %10s %10s\n", "from the kill to", "n", "p50", "p99", "max");
    s_row ("the node not Ready", &st->notready);
    s_row ("all its pods Failed (NodeLost)", &st->failed);
    s_row ("all replacements created", &st->created);
    s_row ("all replacements Running elsewhere", &st->running);
}

static void s_stats_free (stats_t *st)
{
    bl_samples_free (&st->notready);
    bl_samples_free (&st->failed);
    bl_samples_free (&st->created);
    bl_samples_free (&st->running);
}

/* ------------------------------------------------------------------ main */

/* What the command line asks for. */
typedef struct {
    const char *bin_dir;        /* --bin */
    int rounds, pods, keep;     /* hollow: --rounds, --pods, --keep-nodes */
    int real_rounds, real_pods; /* real agents: --real-rounds, --real-pods */
    int timeout_s;              /* --timeout: a round gives up */
    bool real;                  /* off with --no-real, or without root or hs-shim */
    bool nosync;                /* --no-sync */
    char *prober_args[8];       /* --prober-arg, passed on to hs-prober */
    int n_prober_args;
} opts_t;

enum { B_BUS, B_STORE, B_SCHED, B_REPLICAS, B_PROBER, B_AGENT, B_SHIM, B_HOLLOW, B_N };

/* The control plane we started, and what we must free. */
typedef struct {
    char *bin[B_N]; /* bin[B_SHIM] may be NULL: then no real agents */
    char *tmp;
    bl_plane_t plane; /* hs-bus, hs-store */
    char *log_sched, *log_rep, *log_prober, *log_keep;
    pid_t rep_pid, prober_pid; /* checked after every round */
} cluster_t;

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: bench-nodeloss [--bin DIR] [--rounds R] [--pods N] [--keep-nodes K]\n"
             "                      [--real-rounds R] [--real-pods N] [--no-real] [--no-sync]\n"
             "                      [--timeout S] [--prober-arg ARG]...\n"
             "  --bin DIR          where hs-bus, hs-store, hs-scheduler, hs-replicas,\n"
             "                     hs-prober, hs-hollow, hs-agent (and hs-shim) are\n"
             "  --rounds R         hollow rounds (default 10)\n"
             "  --pods N           pods of the lost hollow node (default 20)\n"
             "  --keep-nodes K     hollow nodes that survive (default 10)\n"
             "  --real-rounds R    rounds with real agents (default 5; needs root)\n"
             "  --real-pods N      pods of the lost real node (default 10)\n"
             "  --no-real          hollow nodes only\n"
             "  --no-sync          hs-store --no-sync (labelled; not durable)\n"
             "  --timeout S        a round gives up after S s (default 60)\n"
             "  --prober-arg ARG   passed to hs-prober (e.g. --prober-arg=--node-grace-ms=500)\n");
}

/* Fills o from the command line (dies on a bad value). Returns -1 to run the
 * benchmark, or the exit code: 0 after --help, 2 after an unknown flag. */
static int s_parse_args (int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.rounds = 10,
                  .pods = 20,
                  .keep = 10,
                  .real_rounds = 5,
                  .real_pods = 10,
                  .timeout_s = 60,
                  .real = true};
    static struct option opts[] = {{"bin", required_argument, 0, 'b'},
                                   {"rounds", required_argument, 0, 'r'},
                                   {"pods", required_argument, 0, 'p'},
                                   {"keep-nodes", required_argument, 0, 'k'},
                                   {"real-rounds", required_argument, 0, 'R'},
                                   {"real-pods", required_argument, 0, 'P'},
                                   {"no-real", no_argument, 0, 'x'},
                                   {"no-sync", no_argument, 0, 'N'},
                                   {"timeout", required_argument, 0, 't'},
                                   {"prober-arg", required_argument, 0, 'a'},
                                   {"help", no_argument, 0, 'h'},
                                   {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o->bin_dir = optarg; break;
        case 'r': o->rounds = bl_parse_int ("--rounds", optarg, 0, 1000); break;
        case 'p': o->pods = bl_parse_int ("--pods", optarg, 1, 100); break;
        case 'k': o->keep = bl_parse_int ("--keep-nodes", optarg, 1, 5000); break;
        case 'R': o->real_rounds = bl_parse_int ("--real-rounds", optarg, 0, 100); break;
        case 'P': o->real_pods = bl_parse_int ("--real-pods", optarg, 1, 100); break;
        case 'x': o->real = false; break;
        case 'N': o->nosync = true; break;
        case 't': o->timeout_s = bl_parse_int ("--timeout", optarg, 1, 3600); break;
        case 'a':
            /* Room is left in hs-prober's argv for its own three and the NULL. */
            if (o->n_prober_args >= (int)HS_ARRAY_LEN (o->prober_args) - 4)
                bl_die ("too many --prober-arg");
            o->prober_args[o->n_prober_args++] = optarg;
            break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    return -1;
}

/* Finds the binaries into c->bin (dies without one we need), and turns the
 * real agents off, saying why, without root or hs-shim. */
static void s_find_bins (opts_t *o, cluster_t *c)
{
    const char *names[] = {"hs-bus",    "hs-store", "hs-scheduler", "hs-replicas",
                           "hs-prober", "hs-agent", "hs-shim",      "hs-hollow"};
    for (int i = 0; i < B_N; i++) {
        c->bin[i] = bl_find_bin (names[i], o->bin_dir);
        if (!c->bin[i] && i != B_SHIM)
            bl_die ("cannot find %s (--bin, $HS_BIN, next to bench-nodeloss); build it first%s",
                    names[i],
                    i == B_REPLICAS ? " (hs-replicas replaces the lost pods: services/replicas)"
                                    : "");
    }
    if (o->real && (geteuid () != 0 || !c->bin[B_SHIM])) {
        fprintf (stderr, "bench-nodeloss: real agents skipped (%s)\n",
                 geteuid () != 0 ? "needs root for cgroups" : "no hs-shim");
        o->real = false;
    }
}

/* Arms the workload cleanup, starts hs-bus, hs-store, our client (a watch
 * of nodes and pods, events, the scheduler's heartbeat), hs-scheduler,
 * hs-replicas and hs-prober, each waited for. Dies on any failure. */
static void s_start (const opts_t *o, bench_t *b, cluster_t *c)
{
    c->tmp = bl_tmpdir ("nodeloss");
    snprintf (s_tmp, sizeof s_tmp, "%s/", c->tmp);
    snprintf (s_cg_parent, sizeof s_cg_parent, "hs-bench-nodeloss-%d", (int)getpid ());
    bl_cleanup_first (s_cleanup_workloads);
    b->seen = zhashx_new ();
    c->log_sched = hs_sprintf ("%s/hs-scheduler.log", c->tmp);
    c->log_rep = hs_sprintf ("%s/hs-replicas.log", c->tmp);
    c->log_prober = hs_sprintf ("%s/hs-prober.log", c->tmp);
    c->log_keep = hs_sprintf ("%s/hs-hollow-keep.log", c->tmp);
    bl_plane_start (&c->plane, c->tmp, c->bin[B_BUS], c->bin[B_STORE], o->nosync);
    char *bus = c->plane.bus;
    int r = hs_client_new (bus, "bench-nodeloss", NULL, 10000, &b->cl);
    if (r < 0) bl_die ("cannot join hs-bus at %s: %s", bus, strerror (-r));
    hs_kind_t kinds[] = {HS_KIND_NODE, HS_KIND_POD};
    hs_watch_opts_t wo = {.kinds = kinds, .n_kinds = 2};
    b->w = hs_client_watch (b->cl, &wo);
    if (hs_watch_wait_synced (b->w, 20000) < 0) {
        bl_tail_log (c->plane.store_log, 20);
        bl_die ("hs-store did not answer a snapshot within 20 s");
    }
    hs_client_on (b->cl, "ev.", s_on_ev, b);
    hs_client_on (b->cl, "hb.scheduler.", s_on_sched_hb, b);
    char *a_sched[] = {c->bin[B_SCHED], "--bus", bus, NULL};
    pid_t sched_pid = bl_spawn (a_sched, c->log_sched);
    char *a_rep[] = {c->bin[B_REPLICAS], "--bus", bus, NULL};
    c->rep_pid = bl_spawn (a_rep, c->log_rep);
    char *a_prober[16] = {c->bin[B_PROBER], "--bus", bus};
    for (int i = 0; i < o->n_prober_args; i++) a_prober[3 + i] = o->prober_args[i];
    c->prober_pid = bl_spawn (a_prober, c->log_prober);
    bl_wait_log (c->log_sched, "scheduling pods", sched_pid, 20000);
    bl_wait_log (c->log_rep, "synced", c->rep_pid, 20000);
    bl_wait_log (c->log_prober, "synced", c->prober_pid, 20000);
    if (!bl_alive (c->plane.store_pid)) bl_die ("hs-store died");
}

/* The title and what the rounds are. */
static void s_print_intro (const opts_t *o)
{
    printf ("\n== bench-nodeloss: a node is lost; its pods run elsewhere (hs-store %s)\n",
            o->nosync ? "--no-sync, NOT durable" : "durable");
    printf ("   hs-bus, hs-store, hs-scheduler, hs-replicas, hs-prober (%s)\n"
            "   and the agents on one machine. Each round: a ReplicaSet's pods all on one node,\n"
            "   other nodes open; the node's agent is killed (SIGKILL; for real agents with its\n"
            "   workloads). Times from the kill to the store's commit of what the bus showed.\n",
            o->n_prober_args ? "with --prober-arg flags"
                             : "default flags: grace 1 s, eviction 1 s");
}

/* One hollow round: the keepers cordoned, a new `hs-hollow 1`
 * (v<round>-0) takes the round's ReplicaSet, then s_measure kills it. */
static void s_hollow_round (const opts_t *o, bench_t *b, cluster_t *c, int round, pid_t keep_pid,
                            stats_t *st)
{
    snprintf (b->app, sizeof b->app, "loss%d", round);
    char prefix[32];
    snprintf (prefix, sizeof prefix, "v%d-", round);
    snprintf (b->victim, sizeof b->victim, "v%d-0", round);
    s_cordon (b, "keep-", true);
    s_nodes_arg_t shut = {"keep-", true, 0};
    s_wait (b, s_p_cordoned, &shut, 20000, "the keepers cordoned", NULL);
    char *log_v = hs_sprintf ("%s/hs-hollow-%s.log", c->tmp, prefix);
    char *a_v[] = {c->bin[B_HOLLOW], "1", "--node-prefix", prefix, "--bus", c->plane.bus, NULL};
    pid_t vpid = bl_spawn (a_v, log_v);
    s_wait (b, s_p_node_ready, b->victim, 30000, "the victim node Ready", log_v);
    s_wait (b, s_p_sched_caught_up, NULL, 20000, "hs-scheduler to see the nodes", NULL);
    s_rs (b, false);
    s_wait (b, s_p_all_on_victim, NULL, 60000, "the pods Running on the victim", c->log_rep);
    s_measure (b, vpid, "keep-", o->timeout_s, NULL, st, c->log_prober);
    free (log_v);
    if (!bl_alive (keep_pid) || !bl_alive (c->prober_pid) || !bl_alive (c->rep_pid))
        bl_die ("a process died (logs in %s)", c->tmp);
}

/* The hollow scenario: `hs-hollow K` keepers, o->rounds rounds,
 * the keepers stopped; prints its table. */
static void s_run_hollow (const opts_t *o, bench_t *b, cluster_t *c, stats_t *st)
{
    char keep_s[16];
    snprintf (keep_s, sizeof keep_s, "%d", o->keep);
    char *a_keep[] = {c->bin[B_HOLLOW], keep_s, "--node-prefix", "keep-", "--bus",
                      c->plane.bus,     NULL};
    pid_t keep_pid = bl_spawn (a_keep, c->log_keep);
    s_nodes_arg_t kr = {"keep-", false, o->keep};
    s_wait (b, s_p_nodes_ready, &kr, 60000, "the hollow keepers Ready", c->log_keep);
    b->n = o->pods;
    for (int round = 0; round < o->rounds; round++) s_hollow_round (o, b, c, round, keep_pid, st);
    bl_stop (keep_pid);
    s_cordon (b, "keep-", true); /* silent now; nothing more goes there */
    char head[96];
    snprintf (head, sizeof head, "hollow nodes: %d pods on the lost node, %d keepers", o->pods,
              o->keep);
    s_report (head, st);
}

/* One real round: the keeper cordoned, a new real agent (rv<round>) takes the
 * round's ReplicaSet, then s_measure kills it with its workloads. */
static void s_real_round (const opts_t *o, bench_t *b, cluster_t *c, int round, pid_t rk_pid,
                          stats_t *st)
{
    snprintf (b->app, sizeof b->app, "rloss%d", round);
    snprintf (b->victim, sizeof b->victim, "rv%d", round);
    s_cordon (b, "rkeep", true);
    s_nodes_arg_t shut = {"rkeep", true, 0};
    s_wait (b, s_p_cordoned, &shut, 20000, "the keeper cordoned", NULL);
    char *vstate = hs_sprintf ("%sagent-%s", s_tmp, b->victim);
    char *vparent = hs_sprintf ("%s/%s", s_cg_parent, b->victim);
    char *log_v = hs_sprintf ("%s/hs-agent-%s.log", c->tmp, b->victim);
    char *a_v[] = {c->bin[B_AGENT], "--bus",       c->plane.bus,   "--node-name",
                   b->victim,       "--state-dir", vstate,         "--cgroup-parent",
                   vparent,         "--shim",      c->bin[B_SHIM], NULL};
    pid_t vpid = bl_spawn (a_v, log_v);
    s_wait (b, s_p_node_ready, b->victim, 30000, "the victim agent Ready", log_v);
    s_wait (b, s_p_sched_caught_up, NULL, 20000, "hs-scheduler to see the nodes", NULL);
    s_rs (b, true);
    s_wait (b, s_p_all_on_victim, NULL, 60000, "the pods Running on the victim", log_v);
    s_measure (b, vpid, "rkeep", o->timeout_s, s_kill_node_workloads, st, c->log_prober);
    bl_cgroup_remove (s_cg_parent, b->victim);
    free (vstate);
    free (vparent);
    free (log_v);
    if (!bl_alive (rk_pid) || !bl_alive (c->prober_pid) || !bl_alive (c->rep_pid))
        bl_die ("a process died (logs in %s)", c->tmp);
}

/* The real scenario: a real keeper agent (rkeep), o->real_rounds rounds;
 * prints its table. */
static void s_run_real (const opts_t *o, bench_t *b, cluster_t *c, stats_t *st)
{
    char *state = hs_sprintf ("%sagent-rkeep", s_tmp);
    char *parent = hs_sprintf ("%s/rkeep", s_cg_parent);
    char *log_rk = hs_sprintf ("%s/hs-agent-rkeep.log", c->tmp);
    char *a_rk[] = {c->bin[B_AGENT], "--bus",       c->plane.bus,   "--node-name",
                    "rkeep",         "--state-dir", state,          "--cgroup-parent",
                    parent,          "--shim",      c->bin[B_SHIM], NULL};
    pid_t rk_pid = bl_spawn (a_rk, log_rk);
    s_wait (b, s_p_node_ready, "rkeep", 30000, "the real keeper Ready", log_rk);
    b->n = o->real_pods;
    for (int round = 0; round < o->real_rounds; round++) s_real_round (o, b, c, round, rk_pid, st);
    char head[96];
    snprintf (head, sizeof head, "real agents: %d pods on the lost node, 1 keeper", o->real_pods);
    s_report (head, st);
    free (state);
    free (parent);
    free (log_rk);
}

/* Frees what s_find_bins and s_start allocated; the processes and the temp
 * dir go with the cleanup. */
static void s_cluster_free (cluster_t *c)
{
    for (int i = 0; i < B_N; i++) free (c->bin[i]);
    bl_plane_free (&c->plane);
    free (c->log_sched);
    free (c->log_rep);
    free (c->log_prober);
    free (c->log_keep);
    free (c->tmp);
}

int main (int argc, char **argv)
{
    bl_init ("bench-nodeloss");
    opts_t o;
    int rc = s_parse_args (argc, argv, &o);
    if (rc >= 0) return rc;
    cluster_t c = {0};
    s_find_bins (&o, &c);
    bench_t b = {0};
    s_start (&o, &b, &c);
    s_print_intro (&o);

    stats_t hollow = {0}, realst = {0};
    if (o.rounds > 0) s_run_hollow (&o, &b, &c, &hollow);
    if (o.real && o.real_rounds > 0)
        s_run_real (&o, &b, &c, &realst);
    else
        printf ("\nreal agents: skipped%s\n", o.real ? " (--real-rounds 0)" : "");
    printf ("\n   p99 is by nearest rank: with fewer than 100 rounds it is the largest. Silence\n"
            "   counts from the agent's last heartbeat (every 250 ms), so 'not Ready' comes up to\n"
            "   one heartbeat interval before the grace period after the kill, 'Failed' one\n"
            "   eviction timeout later.\n");

    s_stats_free (&hollow);
    s_stats_free (&realst);
    zhashx_destroy (&b.seen);
    hs_client_destroy (&b.cl);
    s_cluster_free (&c);
    return 0;
}
