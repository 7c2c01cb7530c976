/*  bench_sched.c: bench-sched, scheduling throughput at scale with hollow
 *  nodes (hs-hollow), like kube-scheduler's scheduler_perf.
 *
 *  Spawns hs-bus, hs-store (data dir in a temp dir, durable by default),
 *  hs-scheduler and `hs-hollow N`. First a baseline: an
 *  `hs-hollow 1` alone, idle, for the resident size of the process
 *  itself; then N hollow nodes, waited for until all are Ready in the store
 *  and the scheduler's heartbeat shows it has seen them. Then P pods (small
 *  requests, so all fit) are created as fast as the store takes them:
 *  Commands of --batch OP_CREATE writes, --inflight Commands in flight.
 *
 *  Everything is measured from the bus, on the store's clock: a pod's
 *  creationTimestamp; bound = committed_at_ns of the first event that shows
 *  spec.nodeName set; Running = committed_at_ns of the first event with
 *  phase Running. A pod whose events this process missed (the bus may drop)
 *  is counted from a final snapshot, without times. Prints tables; no
 *  pass/fail.
 */
#include "benchlib.h"
#include "hs_client.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS          1000000LL
#define NODE_PREFIX "hollow-"
#define POD_PREFIX  "bench-"

typedef struct {
    int64_t created, bound, running; /* store clock, ns; 0: not seen */
} podt_t;

typedef struct {
    hs_client_t *cl;
    int nodes, pods;
    int ready;              /* hollow nodes Ready in our node watch */
    int64_t sched_rev;      /* the scheduler's last observed_revision */
    uint64_t sched_ctr[4];  /* its counters: pods_bound, bind_refused, unschedulable, cycles */
    podt_t *t;              /* per pod */
    int n_bound, n_running; /* seen in events */
    int next;               /* next pod to create */
    int batch, inflight_max, inflight;
    int created_ok, create_err;
    char *err_msg;
} bench_t;

/* ------------------------------------------------------------------ /proc */

static long s_rss_kib (pid_t pid)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen (path, "re");
    if (!f) return -1;
    long kb = -1;
    while (fgets (line, sizeof line, f))
        if (sscanf (line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose (f);
    return kb;
}

/* ------------------------------------------------------------------ bus callbacks */

static bool s_node_ready (const Hs__Object *o)
{
    const Hs__Node *n = o ? o->node : NULL;
    if (!n || !n->metadata || !hs_startswith (n->metadata->name, NODE_PREFIX) || !n->status)
        return false;
    for (size_t i = 0; i < n->status->n_conditions; i++)
        if (hs_streq (n->status->conditions[i]->type, "Ready"))
            return hs_streq (n->status->conditions[i]->status, "True");
    return false;
}

static void s_on_node (void *arg, Hs__EventType type, const Hs__Object *obj, const Hs__Object *old)
{
    bench_t *b = arg;
    bool was = old && s_node_ready (old);
    bool is = type != HS__EVENT_TYPE__DELETED && s_node_ready (obj);
    b->ready += (int)is - (int)was;
}

static void s_on_sched_hb (void *arg, const char *topic, const Hs__Envelope *env)
{
    bench_t *b = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_HEARTBEAT) return;
    const Hs__ComponentHeartbeat *hb = env->heartbeat;
    if (hb->observed_revision > b->sched_rev) b->sched_rev = hb->observed_revision;
    static const char *names[4] = {"pods_bound", "bind_refused", "unschedulable", "cycles"};
    for (size_t i = 0; i < hb->n_counters; i++)
        for (int k = 0; k < 4; k++)
            if (hs_streq (hb->counters[i]->name, names[k]))
                b->sched_ctr[k] = hb->counters[i]->value;
}

/* Our pods are bench-<i>: i, or -1. */
static int s_pod_index (const bench_t *b, const char *name)
{
    if (!hs_startswith (name, POD_PREFIX)) return -1;
    int64_t v;
    if (hs_parse_i64 (name + strlen (POD_PREFIX), &v) < 0 || v < 0 || v >= b->pods) return -1;
    return (int)v;
}

static void s_note (bench_t *b, const Hs__Pod *pod, int64_t at)
{
    if (!pod || !pod->metadata) return;
    int i = s_pod_index (b, pod->metadata->name);
    if (i < 0) return;
    podt_t *t = &b->t[i];
    if (!t->created) t->created = pod->metadata->creation_timestamp;
    if (!t->bound && pod->spec && !hs_empty (pod->spec->node_name)) {
        t->bound = at;
        b->n_bound++;
    }
    if (!t->running && pod->status && hs_streq (pod->status->phase, "Running")) {
        t->running = at;
        b->n_running++;
    }
}

static void s_on_pod_ev (void *arg, const char *topic, const Hs__Envelope *env)
{
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_EVENT || !env->event->object) return;
    s_note (arg, env->event->object->pod, env->event->committed_at_ns);
}

/* ------------------------------------------------------------------ creating pods */

static Hs__Object *s_make_pod (int i)
{
    char name[32];
    snprintf (name, sizeof name, POD_PREFIX "%d", i);
    Hs__Object *obj = hs_obj_new (HS_KIND_POD, "default", name);
    Hs__Pod *pod = obj->pod;
    hs_pb_map_set ((void ***)&pod->metadata->labels, &pod->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "app", "bench");
    pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "app");
    hs_pb_set_str (&c->image, "busybox:1.36");
    char *a0 = NULL, *a1 = NULL;
    hs_pb_set_str (&a0, "sleep");
    hs_pb_set_str (&a1, "3600");
    hs_pb_push ((void ***)&c->command, &c->n_command, a0);
    hs_pb_push ((void ***)&c->command, &c->n_command, a1);
    c->resources = hs_pb_new (&hs__resource_requirements__descriptor);
    c->resources->requests = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&c->resources->requests->cpu, "10m");
    hs_pb_set_str (&c->resources->requests->memory, "16Mi");
    hs_pb_push ((void ***)&pod->spec->containers, &pod->spec->n_containers, c);
    hs_pb_set_str (&pod->spec->restart_policy, "Always");
    return obj;
}

static void s_send_more (bench_t *b);

static void s_on_create_ack (void *arg, int err, const Hs__Ack *ack)
{
    bench_t *b = arg;
    b->inflight--;
    if (err == 0 && ack->code == HS__CODE__CODE_OK) {
        b->created_ok += (int)ack->n_results;
    } else {
        b->create_err++;
        if (!b->err_msg)
            b->err_msg = hs_sprintf ("%s", err ? strerror (-err) : hs_s (ack->message));
    }
}

static void s_send_more (bench_t *b)
{
    hs_call_opts_t opts = {.timeout_ms = 60000};
    Hs__Write **w = hs_calloc ((size_t)b->batch, sizeof *w);
    while (b->inflight < b->inflight_max && b->next < b->pods) {
        int n = 0;
        while (n < b->batch && b->next < b->pods)
            w[n++] = hs_write_new (HS__OP__OP_CREATE, s_make_pod (b->next++));
        int r = hs_client_send (b->cl, w, (size_t)n, &opts, s_on_create_ack, b);
        for (int i = 0; i < n; i++) hs_pb_free (w[i]);
        if (r < 0) bl_die ("cannot send a create: %s", strerror (-r));
        b->inflight++;
    }
    free (w);
}

/* ------------------------------------------------------------------ reporting */

static int s_cmp_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static const char *s_ms (uint64_t ns, char *buf, size_t len)
{
    if (ns >= 10000000000ULL)
        snprintf (buf, len, "%.1f s", (double)ns / 1e9);
    else
        snprintf (buf, len, "%.0f ms", (double)ns / 1e6);
    return buf;
}

/* PCT (a, n, p): the p-th percentile of the n sorted values in a, 0 if none. */
#define PCT(a, n, p) ((n) ? (uint64_t)(a)[(size_t)((double)((n)-1) * (p) / 100.0)] : 0)

/* ------------------------------------------------------------------ main */

/* What the command line asks for. */
typedef struct {
    const char *bin_dir; /* --bin */
    int nodes, pods;     /* --nodes, --pods (--quick: 500, 5000) */
    int batch, inflight; /* --batch, --inflight */
    bool nosync;         /* --no-sync */
    int stall_s;         /* --timeout: give up after this long without progress */
    const char *csv;     /* --csv */
} opts_t;

/* The servers we started, and what we must free. */
typedef struct {
    char *bin[4]; /* hs-bus, hs-store, hs-scheduler, hs-hollow */
    char *tmp;
    bl_plane_t plane; /* hs-bus, hs-store */
    char *log_sched, *log_base, *log_sim;
    pid_t sched_pid, sim_pid;
    hs_watch_t *nw; /* our node watch: its revision is what the scheduler must reach */
} cluster_t;

/* What the run measured besides the pods' times. */
typedef struct {
    int64_t t_sim, t_ready;             /* simulator started, all its nodes Ready (mono ns) */
    long rss_base, rss_idle, rss_after; /* KiB: hs-hollow 1 idle, N idle, N after the pods */
    double cpu0[4], cpu1[4];            /* scheduler, store, simulator, bus: before, after */
    int snap_bound, snap_running;       /* from the final snapshot; -1: none */
} meas_t;

/* The pods' latencies, sorted, and the spans from the first creation. */
typedef struct {
    int64_t *cb, *cr, *br; /* created -> bound, created -> Running, bound -> Running */
    size_t ncb, ncr, nbr;
    double span_c, span_b, span_r; /* seconds to the last created, bound, Running */
} lat_t;

static void s_usage (FILE *f)
{
    fprintf (
        f,
        "usage: bench-sched [--bin DIR] [--nodes N] [--pods P] [--quick] [--batch B]\n"
        "                   [--inflight K] [--no-sync] [--timeout S]\n"
        "  --bin DIR       where hs-bus, hs-store, hs-scheduler and hs-hollow are\n"
        "  --nodes N       hollow nodes (default 5000)\n"
        "  --pods P        pods to create (default 50000)\n"
        "  --quick         500 nodes, 5000 pods\n"
        "  --batch B       OP_CREATE writes per Command (default 100)\n"
        "  --inflight K    Commands in flight while creating (default 8)\n"
        "  --no-sync       hs-store --no-sync (labelled; not durable)\n"
        "  --timeout S     give up waiting for Running after S s without progress (30)\n"
        "  --csv FILE      write every pod's times (ns, store clock): i,created,bound,running\n");
}

/* Fills o from the command line (dies on a bad value). Returns -1 to run the
 * benchmark, or the exit code: 0 after --help, 2 after an unknown flag. */
static int s_parse_args (int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.nodes = 5000, .pods = 50000, .batch = 100, .inflight = 8, .stall_s = 30};
    static struct option opts[] = {{"bin", required_argument, 0, 'b'},
                                   {"nodes", required_argument, 0, 'n'},
                                   {"pods", required_argument, 0, 'p'},
                                   {"quick", no_argument, 0, 'q'},
                                   {"batch", required_argument, 0, 'B'},
                                   {"inflight", required_argument, 0, 'K'},
                                   {"no-sync", no_argument, 0, 'N'},
                                   {"timeout", required_argument, 0, 't'},
                                   {"csv", required_argument, 0, 'C'},
                                   {"help", no_argument, 0, 'h'},
                                   {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o->bin_dir = optarg; break;
        case 'n': o->nodes = bl_parse_int ("--nodes", optarg, 1, 100000); break;
        case 'p': o->pods = bl_parse_int ("--pods", optarg, 1, 1000000); break;
        case 'q':
            o->nodes = 500;
            o->pods = 5000;
            break;
        case 'B': o->batch = bl_parse_int ("--batch", optarg, 1, 1000); break;
        case 'K': o->inflight = bl_parse_int ("--inflight", optarg, 1, 4096); break;
        case 'N': o->nosync = true; break;
        case 't': o->stall_s = bl_parse_int ("--timeout", optarg, 1, 3600); break;
        case 'C': o->csv = optarg; break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    return -1;
}

static void s_pump (bench_t *b, int ms)
{
    int r = hs_client_process (b->cl, ms);
    if (r < 0 && r != -EINTR) bl_die ("the bus failed: %s", strerror (-r));
}

/* Pumps the bus for ms milliseconds (heartbeats and events keep coming). */
static void s_pump_for (bench_t *b, int ms)
{
    int64_t until = hs_mono_ns () + ms * MS;
    while (hs_mono_ns () < until) s_pump (b, 50);
}

/* Starts hs-bus and hs-store, and our client: a node watch counting Ready
 * hollow nodes (synced), the scheduler's heartbeat, pod events. Dies if the
 * store does not answer. */
static void s_start_servers (const opts_t *o, bench_t *b, cluster_t *c)
{
    *c = (cluster_t){0};
    const char *names[] = {"hs-bus", "hs-store", "hs-scheduler", "hs-hollow"};
    bl_find_bins (names, 4, o->bin_dir, c->bin);
    c->tmp = bl_tmpdir ("sched");
    c->log_sched = hs_sprintf ("%s/hs-scheduler.log", c->tmp);
    c->log_base = hs_sprintf ("%s/hs-hollow-base.log", c->tmp);
    c->log_sim = hs_sprintf ("%s/hs-hollow.log", c->tmp);
    bl_plane_start (&c->plane, c->tmp, c->bin[0], c->bin[1], o->nosync);
    int r = hs_client_new (c->plane.bus, "bench-sched", NULL, 10000, &b->cl);
    if (r < 0) bl_die ("cannot join hs-bus at %s: %s", c->plane.bus, strerror (-r));
    hs_kind_t nk[] = {HS_KIND_NODE};
    hs_watch_opts_t wo = {.kinds = nk, .n_kinds = 1, .fn = s_on_node, .arg = b};
    c->nw = hs_client_watch (b->cl, &wo);
    if (hs_watch_wait_synced (c->nw, 20000) < 0) {
        bl_tail_log (c->plane.store_log, 20);
        bl_die ("hs-store did not answer a snapshot within 20 s");
    }
    hs_client_on (b->cl, "hb.scheduler.", s_on_sched_hb, b);
    hs_client_on (b->cl, "ev.pod.", s_on_pod_ev, b);
}

/* `hs-hollow 1` alone and idle: returns its VmRSS (KiB), the
 * process's own cost. It is stopped and its node deleted. */
static long s_baseline (bench_t *b, cluster_t *c)
{
    char *a_base[] = {c->bin[3], "1", "--node-prefix", "base-", "--bus", c->plane.bus, NULL};
    pid_t base_pid = bl_spawn (a_base, c->log_base);
    bl_wait_log (c->log_base, "registered 1 hollow nodes", base_pid, 20000);
    s_pump_for (b, 2000);
    long rss = s_rss_kib (base_pid);
    bl_stop (base_pid);
    Hs__Write *del = hs_write_target (HS__OP__OP_DELETE, HS_KIND_NODE, NULL, "base-0");
    Hs__Ack *ack = NULL;
    if (hs_client_call (b->cl, &del, 1, NULL, &ack) == 0) hs_pb_free (ack);
    hs_pb_free (del);
    return rss;
}

/* Starts hs-scheduler and `hs-hollow N`; waits until all N are
 * Ready and the scheduler has seen them, then for the simulator to settle
 * (its idle VmRSS). Dies on a timeout. */
static void s_start_nodes (bench_t *b, cluster_t *c, meas_t *m)
{
    char *a_sched[] = {c->bin[2], "--bus", c->plane.bus, NULL};
    c->sched_pid = bl_spawn (a_sched, c->log_sched);
    bl_wait_log (c->log_sched, "scheduling pods", c->sched_pid, 20000);
    char n_s[16];
    snprintf (n_s, sizeof n_s, "%d", b->nodes);
    char *a_sim[] = {c->bin[3], n_s, "--bus", c->plane.bus, NULL};
    m->t_sim = hs_mono_ns ();
    c->sim_pid = bl_spawn (a_sim, c->log_sim);
    int64_t deadline = m->t_sim + 120000 * MS;
    while (b->ready < b->nodes) {
        if (hs_mono_ns () > deadline || !bl_alive (c->sim_pid)) {
            bl_tail_log (c->log_sim, 20);
            bl_die ("%d of %d hollow nodes Ready after 120 s", b->ready, b->nodes);
        }
        s_pump (b, 50);
    }
    m->t_ready = hs_mono_ns ();
    /* the scheduler has seen every node: its heartbeat's revision */
    int64_t rev = hs_watch_revision (c->nw);
    deadline = hs_mono_ns () + 30000 * MS;
    while (b->sched_rev < rev) {
        if (hs_mono_ns () > deadline) bl_die ("the scheduler did not catch up with the nodes");
        s_pump (b, 50);
    }
    s_pump_for (b, 2000);
    m->rss_idle = s_rss_kib (c->sim_pid);
}

/* The title, what the times mean, and how long the nodes took. */
static void s_print_intro (const opts_t *o, const bench_t *b, const meas_t *m)
{
    printf ("\n== bench-sched: %d hollow nodes (hs-hollow), %d pods, hs-store %s\n", b->nodes,
            b->pods,
            o->nosync ? "--no-sync (NOT durable)" : "durable (every group commit fsynced)");
    printf ("   hs-bus, hs-store, hs-scheduler, hs-hollow %d and this process on one\n"
            "   machine. Pods: 1 container, requests 10m/16Mi (all fit), created as Commands of\n"
            "   %d OP_CREATE writes, %d Commands in flight. Times from the bus, on the store's\n"
            "   clock: creationTimestamp -> bound (committed_at of the event setting nodeName)\n"
            "   -> Running (committed_at of the agent's status event). rate = pods / (first\n"
            "   creation -> last such event).\n",
            b->nodes, b->batch, b->inflight_max);
    char buf[32];
    printf ("   %d nodes Ready %s after the simulator started\n", b->nodes,
            bl_fmt_ns ((uint64_t)(m->t_ready - m->t_sim), buf, 32));
}

/* The servers' CPU seconds so far: scheduler, store, simulator, bus. */
static void s_cpu (const cluster_t *c, double ret[4])
{
    ret[0] = bl_cpu_s (c->sched_pid);
    ret[1] = bl_cpu_s (c->plane.store_pid);
    ret[2] = bl_cpu_s (c->sim_pid);
    ret[3] = bl_cpu_s (c->plane.bus_pid);
}

/* Creates every pod (s_send_more keeps --inflight Commands going) and pumps
 * until all are Running, or all that were created are, or nothing moved for
 * stall_s; progress on stderr every 5 s. The servers' CPU and the simulator's
 * VmRSS around it go into m. Dies if a server dies. */
static void s_create_pods (const opts_t *o, bench_t *b, const cluster_t *c, meas_t *m)
{
    s_cpu (c, m->cpu0);
    int64_t t0 = hs_mono_ns ();
    int64_t last_progress = t0, last_print = t0;
    int last_running = -1, last_bound = -1;
    s_send_more (b);
    while (b->n_running < b->pods) {
        s_pump (b, 20);
        s_send_more (b);
        int64_t now = hs_mono_ns ();
        if (b->n_running != last_running || b->n_bound != last_bound) {
            last_running = b->n_running;
            last_bound = b->n_bound;
            last_progress = now;
        }
        if (b->next >= b->pods && b->inflight == 0 && b->n_running >= b->created_ok)
            break; /* some creates failed: everything else is done */
        if (now - last_progress > o->stall_s * 1000 * MS) {
            fprintf (stderr, "bench-sched: no progress for %d s; stopping the wait\n", o->stall_s);
            break;
        }
        if (now - last_print > 5000 * MS) {
            fprintf (stderr, "bench-sched: %.0f s: created %d, bound %d, Running %d\n",
                     (double)(now - t0) / 1e9, b->created_ok, b->n_bound, b->n_running);
            last_print = now;
        }
        if (!bl_alive (c->sched_pid) || !bl_alive (c->plane.store_pid) || !bl_alive (c->sim_pid))
            bl_die ("a server died (logs in %s)", c->tmp);
    }
    s_cpu (c, m->cpu1);
    m->rss_after = s_rss_kib (c->sim_pid);
}

/* Counts our pods bound and Running in a snapshot of the store: what the
 * events missed shows against the events' counts. -1 if no snapshot. */
static void s_snapshot_count (bench_t *b, meas_t *m)
{
    m->snap_bound = m->snap_running = -1;
    hs_db_snapshot_t snap = {0};
    hs_kind_t pk[] = {HS_KIND_POD};
    if (hs_client_snapshot (b->cl, pk, 1, NULL, 30000, &snap) < 0) return;
    m->snap_bound = m->snap_running = 0;
    for (size_t i = 0; i < snap.n_objects; i++) {
        const Hs__Pod *p = snap.objects[i]->pod;
        if (!p || s_pod_index (b, p->metadata->name) < 0) continue;
        if (p->spec && !hs_empty (p->spec->node_name)) m->snap_bound++;
        if (p->status && hs_streq (p->status->phase, "Running")) m->snap_running++;
    }
    hs_db_snapshot_free (&snap);
}

/* Every pod's latencies into l, sorted, and the spans from the first
 * creation to the last creation, bind and Running. */
static void s_collect (const bench_t *b, lat_t *l)
{
    int64_t first_created = INT64_MAX, last_created = 0, last_bound_t = 0, last_run_t = 0;
    *l = (lat_t){0};
    l->cb = hs_calloc ((size_t)b->pods, sizeof (int64_t));
    l->cr = hs_calloc ((size_t)b->pods, sizeof (int64_t));
    l->br = hs_calloc ((size_t)b->pods, sizeof (int64_t));
    for (int i = 0; i < b->pods; i++) {
        const podt_t *t = &b->t[i];
        if (!t->created) continue;
        if (t->created < first_created) first_created = t->created;
        if (t->created > last_created) last_created = t->created;
        if (t->bound) {
            l->cb[l->ncb++] = t->bound - t->created;
            if (t->bound > last_bound_t) last_bound_t = t->bound;
        }
        if (t->running) {
            l->cr[l->ncr++] = t->running - t->created;
            if (t->running > last_run_t) last_run_t = t->running;
        }
        if (t->bound && t->running) l->br[l->nbr++] = t->running - t->bound;
    }
    qsort (l->cb, l->ncb, sizeof *l->cb, s_cmp_i64);
    qsort (l->cr, l->ncr, sizeof *l->cr, s_cmp_i64);
    qsort (l->br, l->nbr, sizeof *l->br, s_cmp_i64);
    l->span_c = (double)(last_created - first_created) / 1e9;
    l->span_b = (double)(last_bound_t - first_created) / 1e9;
    l->span_r = (double)(last_run_t - first_created) / 1e9;
}

/* --csv: i,created,bound,running per pod (ns, store clock); a file we cannot
 * write is reported, not fatal. */
static void s_write_csv (const char *csv, const bench_t *b)
{
    FILE *cf = csv ? fopen (csv, "we") : NULL;
    if (csv && !cf) fprintf (stderr, "bench-sched: cannot write %s: %s\n", csv, strerror (errno));
    for (int i = 0; cf && i < b->pods; i++)
        fprintf (cf, "%d,%lld,%lld,%lld\n", i, (long long)b->t[i].created, (long long)b->t[i].bound,
                 (long long)b->t[i].running);
    if (cf) fclose (cf);
}

/* The pods table, the check against the snapshot, the scheduler's counters. */
static void s_print_pods (const bench_t *b, const meas_t *m, const lat_t *l)
{
    char buf[5][32];
    printf ("\n%8s %8s %10s %10s %10s %12s %12s\n", "", "pods", "span", "pods/s", "p50", "p99",
            "max");
    printf ("%8s %8d %10s %10s %10s %12s %12s\n", "created", b->created_ok,
            s_ms ((uint64_t)(l->span_c * 1e9), buf[0], 32),
            l->span_c > 0 ? bl_fmt_count (b->created_ok / l->span_c, buf[1], 32) : "-", "-", "-",
            "-");
    printf ("%8s %8zu %10s %10s %10s %12s %12s\n", "bound", l->ncb,
            s_ms ((uint64_t)(l->span_b * 1e9), buf[0], 32),
            l->span_b > 0 ? bl_fmt_count ((double)l->ncb / l->span_b, buf[1], 32) : "-",
            s_ms (PCT (l->cb, l->ncb, 50), buf[2], 32), s_ms (PCT (l->cb, l->ncb, 99), buf[3], 32),
            s_ms (PCT (l->cb, l->ncb, 100), buf[4], 32));
    printf ("%8s %8zu %10s %10s %10s %12s %12s\n", "Running", l->ncr,
            s_ms ((uint64_t)(l->span_r * 1e9), buf[0], 32),
            l->span_r > 0 ? bl_fmt_count ((double)l->ncr / l->span_r, buf[1], 32) : "-",
            s_ms (PCT (l->cr, l->ncr, 50), buf[2], 32), s_ms (PCT (l->cr, l->ncr, 99), buf[3], 32),
            s_ms (PCT (l->cr, l->ncr, 100), buf[4], 32));
    printf ("   span and pods/s from the first creation; p50/p99/max: created -> bound, created\n"
            "   -> Running; bound -> Running p50 %s, p99 %s.\n",
            s_ms (PCT (l->br, l->nbr, 50), buf[0], 32), s_ms (PCT (l->br, l->nbr, 99), buf[1], 32));
    if (b->create_err)
        printf ("   %d create Commands failed (first: %s)\n", b->create_err, hs_s (b->err_msg));
    if (m->snap_bound >= 0)
        printf ("   check: the store holds %d bench pods bound, %d Running (events seen: %d "
                "bound, %d Running)\n",
                m->snap_bound, m->snap_running, b->n_bound, b->n_running);
    printf ("   hs-scheduler's counters: %llu bound, %llu binds refused, %llu unschedulable, "
            "%llu passes\n",
            (unsigned long long)b->sched_ctr[0], (unsigned long long)b->sched_ctr[1],
            (unsigned long long)b->sched_ctr[2], (unsigned long long)b->sched_ctr[3]);
}

/* The servers' CPU during the pods, and the simulator's resident memory. */
static void s_print_resources (const bench_t *b, const meas_t *m)
{
    const char *who[4] = {"hs-scheduler", "hs-store", "hs-hollow", "hs-bus"};
    printf ("\n%22s %12s %14s\n", "CPU during the pods", "seconds", "per pod");
    for (int i = 0; i < 4; i++) {
        double d = m->cpu1[i] - m->cpu0[i];
        printf ("%22s %12.2f %11.1f us\n", who[i], d, b->pods ? d * 1e6 / b->pods : 0);
    }
    printf ("\n%34s %12s\n", "resident memory (VmRSS)", "KiB");
    printf ("%34s %12ld\n", "hs-hollow 1, idle", m->rss_base);
    char lbl[64];
    snprintf (lbl, sizeof lbl, "hs-hollow %d, idle", b->nodes);
    printf ("%34s %12ld\n", lbl, m->rss_idle);
    snprintf (lbl, sizeof lbl, "  the same after %d pods", b->pods);
    printf ("%34s %12ld\n", lbl, m->rss_after);
    if (b->nodes > 1 && m->rss_base > 0 && m->rss_idle > 0)
        printf ("   per idle hollow node: (%ld - %ld) KiB / %d = %.0f bytes\n", m->rss_idle,
                m->rss_base, b->nodes - 1,
                (double)(m->rss_idle - m->rss_base) * 1024.0 / (b->nodes - 1));
}

/* Frees what s_start_servers allocated; the processes and the temp dir go
 * with the cleanup. */
static void s_cluster_free (cluster_t *c)
{
    for (int i = 0; i < 4; i++) free (c->bin[i]);
    bl_plane_free (&c->plane);
    free (c->log_sched);
    free (c->log_base);
    free (c->log_sim);
    free (c->tmp);
}

int main (int argc, char **argv)
{
    bl_init ("bench-sched");
    opts_t o;
    int rc = s_parse_args (argc, argv, &o);
    if (rc >= 0) return rc;
    bench_t b = {.nodes = o.nodes, .pods = o.pods, .batch = o.batch, .inflight_max = o.inflight};
    cluster_t c;
    meas_t m = {0};
    b.t = hs_calloc ((size_t)b.pods, sizeof *b.t); /* before the pod events can come */
    s_start_servers (&o, &b, &c);
    m.rss_base = s_baseline (&b, &c);
    s_start_nodes (&b, &c, &m);
    s_print_intro (&o, &b, &m);

    s_create_pods (&o, &b, &c, &m);
    /* one more scheduler heartbeat, so its counters cover the whole run */
    s_pump_for (&b, 600);
    s_snapshot_count (&b, &m);
    lat_t l;
    s_collect (&b, &l);
    s_write_csv (o.csv, &b);
    s_print_pods (&b, &m, &l);
    s_print_resources (&b, &m);

    free (l.cb);
    free (l.cr);
    free (l.br);
    free (b.t);
    free (b.err_msg);
    hs_client_destroy (&b.cl);
    s_cluster_free (&c);
    return 0;
}
