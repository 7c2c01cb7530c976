/*  bench_hpa.c: bench-hpa, how fast a HorizontalPodAutoscaler reacts to load,
 *  with Homeostat's timing and with Kubernetes' default timing, on the same
 *  binaries in the same run; and whether it oscillates under steady load.
 *
 *  Spawns hs-bus and hs-store (plaintext, temp data dir), hs-scheduler,
 *  hs-replicas, and per timing a real hs-agent (cgroups under
 *  hs-bench-<pid>/: needs root) and hs-autoscaler:
 *    homeostat: the agent's --usage-interval 1s, hs-autoscaler --sync-period 1s
 *      (both defaults);
 *    kube: --usage-interval 60s (metrics-server's default resolution) and
 *      --sync-period 15s (kube-controller-manager's default).
 *  Each run applies a Deployment "burn" (1 replica; its pod burns CPU while
 *  DIR/load exists; requests cpu 100m, limit 200m) and an HPA (min 1, max 5,
 *  cpu 50%, no behavior: kube's defaults), waits until the HPA has read the
 *  idle pod (ScalingActive True), creates DIR/load (t0) and records, from our
 *  watch of Deployments (our clock, when the event arrives):
 *    first scale: spec.replicas first above 1;
 *    3 ready: status.readyReplicas first at 3 or more (the new replicas Ready);
 *  then keeps the load for --steady seconds after 3 ready and counts the
 *  changes of spec.replicas from t0 and their reversals (up after down or
 *  down after up: oscillation). Then removes the load, deletes both objects
 *  and waits for the pods to go. Prints tables; no pass/fail.
 *
 *  What the reversal count cannot show (review 18b, finding 11): the load
 *  grows with the replica count (every pod burns to its limit), so the
 *  count only climbs to max; and --steady is shorter than the 5-minute
 *  scale-down window. A steady load shared by the pods and a check for
 *  reversals is tests/integration/test_hpa.sh's; bench/README.md says more.
 */
#include "benchlib.h"
#include "hs_client.h"
#include "hs_manifest.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS   1000000LL
#define NODE "bench-n1"

typedef struct {
    const char *name, *usage_interval, *sync;
    int runs;
    int period_ms; /* the usage interval: t0 falls at a random point of it */
} timing_t;

typedef struct {
    hs_client_t *cl;
    hs_watch_t *w;
    char *tmp, *bin[6], *bus, *autoscaler_bin;
    pid_t agent, autoscaler;
    /* the run being measured */
    int64_t t0, first, ready3;
    int last_replicas, last_dir, changes, reversals;
} bench_t;

static char s_cg_parent[64], s_tmp[512];
static pid_t s_agent;

static void s_cleanup_workloads (void)
{
    static bool done;
    if (done || !s_cg_parent[0]) return;
    done = true;
    if (s_agent > 0) {
        kill (s_agent, SIGKILL);
        waitpid (s_agent, NULL, 0);
    }
    for (int pass = 0; pass < 3; pass++) {
        if (s_tmp[0]) bl_kill_cmdline (s_tmp); /* the shims: --state names it */
        bl_cgroup_kill (s_cg_parent, NULL);
    }
    bl_cgroup_remove (s_cg_parent, NULL);
}

/* Deployments as they change: the run's figures. */
static void s_on_change (void *arg, Hs__EventType type, const Hs__Object *obj,
                         const Hs__Object *old)
{
    bench_t *b = arg;
    (void)old;
    if (type == HS__EVENT_TYPE__DELETED || hs_obj_kind (obj) != HS_KIND_DEPLOYMENT || !b->t0)
        return;
    const Hs__Deployment *d = obj->deployment;
    int64_t now = hs_mono_ns ();
    int rep = d->spec && d->spec->replicas ? d->spec->replicas->value : 1;
    if (rep != b->last_replicas) {
        int dir = rep > b->last_replicas ? 1 : -1;
        if (b->last_dir && dir != b->last_dir) b->reversals++;
        b->last_dir = dir;
        b->last_replicas = rep;
        b->changes++;
    }
    if (rep > 1 && !b->first) b->first = now;
    if (d->status && d->status->ready_replicas >= 3 && !b->ready3) b->ready3 = now;
}

static void s_apply (bench_t *b, const char *yaml, Hs__Op op)
{
    hs_manifest_t m = {0};
    char *err = NULL;
    if (hs_manifest_parse (yaml, strlen (yaml), "bench", &m, &err) < 0)
        bl_die ("bad manifest: %s", err);
    for (size_t i = 0; i < m.n; i++) {
        Hs__Object *o = m.docs[i].object;
        m.docs[i].object = NULL;
        Hs__Write *w = op == HS__OP__OP_APPLY ? hs_write_new (op, o)
                                              : hs_write_target (op, hs_obj_kind (o), "default",
                                                                 hs_obj_meta (o)->name);
        if (op != HS__OP__OP_APPLY) hs_pb_free (o);
        Hs__Ack *ack = NULL;
        hs_call_opts_t opts = {.timeout_ms = 30000};
        int r = hs_client_call (b->cl, &w, 1, &opts, &ack);
        hs_pb_free (w);
        if (r < 0) bl_die ("no answer from hs-store: %s", strerror (-r));
        if (ack->code != HS__CODE__CODE_OK && ack->code != HS__CODE__CODE_NOT_FOUND)
            bl_die ("hs-store refused: %s", hs_s (ack->message));
        hs_pb_free (ack);
    }
    hs_manifest_free (&m);
}

static char *s_yaml (const bench_t *b)
{
    return hs_sprintf (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: burn}\nspec:\n  replicas: 1\n"
        "  selector: {matchLabels: {app: burn}}\n  template:\n    metadata: {labels: {app: burn}}\n"
        "    spec:\n      terminationGracePeriodSeconds: 1\n      containers:\n      - name: main\n"
        "        command: [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do if [ -e %s/load "
        "]; "
        "then i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; else sleep 0.2; fi; done\"]\n"
        "        resources: {requests: {cpu: 100m}, limits: {cpu: 200m}}\n---\n"
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: burn}\n"
        "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burn}\n"
        "  minReplicas: 1\n  maxReplicas: 5\n  metrics:\n  - type: Resource\n"
        "    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}\n",
        b->tmp);
}

/* Pumps the client until pred holds or timeout_ms passes. */
static bool s_until_ms (bench_t *b, bool (*pred) (bench_t *), int64_t timeout_ms)
{
    int64_t end = hs_mono_ns () + timeout_ms * MS;
    while (!pred (b)) {
        if (hs_mono_ns () > end) return false;
        hs_client_process (b->cl, 50);
    }
    return true;
}

static bool s_until (bench_t *b, bool (*pred) (bench_t *), int timeout_s)
{
    return s_until_ms (b, pred, timeout_s * 1000LL);
}

static bool s_hpa_active (bench_t *b)
{
    const Hs__Object *o = hs_watch_get (b->w, HS_KIND_HPA, "default", "burn");
    const Hs__HorizontalPodAutoscalerStatus *st = o ? o->horizontal_pod_autoscaler->status : NULL;
    for (size_t i = 0; st && i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, "ScalingActive"))
            return hs_streq (st->conditions[i]->status, "True");
    return false;
}

static bool s_ready3 (bench_t *b)
{
    return b->ready3 != 0;
}

static bool s_no_pods (bench_t *b)
{
    const Hs__Object **v = NULL;
    size_t n = hs_watch_list (b->w, HS_KIND_POD, &v);
    free (v);
    return n == 0;
}

static bool s_never (bench_t *b)
{
    (void)b;
    return false;
}

/* One run; false if it timed out (its figures are not kept). */
static bool s_run (bench_t *b, int period_ms, int steady_s, bl_samples_t *first,
                   bl_samples_t *ready, bl_samples_t *changes, bl_samples_t *reversals)
{
    _cleanup_free_ char *yaml = s_yaml (b), *load = hs_sprintf ("%s/load", b->tmp);
    s_apply (b, yaml, HS__OP__OP_APPLY);
    bool ok = s_until (b, s_hpa_active, 200);
    /* The HPA turned active right after a sample: start the load at a
     * random point of the sampling period, not in step with it. */
    long delay_ms = random () % period_ms;
    if (ok) s_until_ms (b, s_never, delay_ms);
    if (ok) {
        b->t0 = hs_mono_ns ();
        b->first = b->ready3 = b->changes = b->reversals = b->last_dir = 0;
        b->last_replicas = 1;
        FILE *f = fopen (load, "w");
        if (f) fclose (f);
        ok = s_until (b, s_ready3, 300);
    }
    if (ok) {
        fprintf (stderr,
                 "bench-hpa: load %ld ms after the HPA turned active: first scale %.1f s, 3 ready "
                 "%.1f s\n",
                 delay_ms, (double)(b->first - b->t0) / 1e9, (double)(b->ready3 - b->t0) / 1e9);
        s_until (b, s_never, steady_s);
        bl_samples_add (first, (uint64_t)(b->first - b->t0));
        bl_samples_add (ready, (uint64_t)(b->ready3 - b->t0));
        bl_samples_add (changes, (uint64_t)b->changes);
        bl_samples_add (reversals, (uint64_t)b->reversals);
    }
    b->t0 = 0;
    unlink (load);
    s_apply (b, yaml, HS__OP__OP_DELETE);
    if (!s_until (b, s_no_pods, 60)) bl_die ("the pods did not go within 60 s");
    return ok;
}

/* The agent and hs-autoscaler of one timing. */
static void s_start_timing (bench_t *b, const timing_t *t)
{
    char parent[96];
    snprintf (parent, sizeof parent, "%s/n1", s_cg_parent);
    _cleanup_free_ char *state = hs_sprintf ("%s/agent-%s", b->tmp, t->name);
    _cleanup_free_ char *alog = hs_sprintf ("%s/hs-agent-%s.log", b->tmp, t->name);
    _cleanup_free_ char *hlog = hs_sprintf ("%s/hs-autoscaler-%s.log", b->tmp, t->name);
    char *a_agent[] = {b->bin[4],
                       "--bus",
                       b->bus,
                       "--node-name",
                       NODE,
                       "--state-dir",
                       state,
                       "--cgroup-parent",
                       parent,
                       "--shim",
                       b->bin[5],
                       "--usage-interval",
                       (char *)t->usage_interval,
                       NULL};
    s_agent = b->agent = bl_spawn (a_agent, alog);
    bl_wait_log (alog, "registered node " NODE, b->agent, 20000);
    char *a_hpa[] = {b->autoscaler_bin, "--bus", b->bus, "--sync-period", (char *)t->sync, NULL};
    b->autoscaler = bl_spawn (a_hpa, hlog);
    bl_wait_log (hlog, "synced", b->autoscaler, 20000);
}

static void s_stop_timing (bench_t *b)
{
    bl_stop (b->autoscaler);
    bl_stop (b->agent);
    s_agent = 0;
}

static void s_row (const timing_t *t, bl_samples_t *s, const char *name, bool ms)
{
    bl_samples_sort (s);
    char p50[32], max[32];
    if (ms) {
        bl_fmt_ns (bl_pct (s, 50), p50, sizeof p50);
        bl_fmt_ns (bl_pct (s, 100), max, sizeof max);
    } else {
        snprintf (p50, sizeof p50, "%llu", (unsigned long long)bl_pct (s, 50));
        snprintf (max, sizeof max, "%llu", (unsigned long long)bl_pct (s, 100));
    }
    char timing[32];
    snprintf (timing, sizeof timing, "%s / %s", t->usage_interval, t->sync);
    printf ("| %-9s | %-12s | %-26s | %4zu | %9s | %9s |\n", t->name, timing, name, s->n, p50, max);
}

static void s_timing (bench_t *b, const timing_t *t, int steady_s)
{
    bl_samples_t first = {0}, ready = {0}, changes = {0}, reversals = {0};
    s_start_timing (b, t);
    for (int i = 0; i < t->runs; i++)
        if (!s_run (b, t->period_ms, steady_s, &first, &ready, &changes, &reversals))
            fprintf (stderr, "bench-hpa: %s run %d timed out\n", t->name, i + 1);
    s_stop_timing (b);
    s_row (t, &first, "load -> first scale", true);
    s_row (t, &ready, "load -> 3 replicas Ready", true);
    s_row (t, &changes, "replica changes", false);
    s_row (t, &reversals, "reversals (oscillation)", false);
    bl_samples_free (&first);
    bl_samples_free (&ready);
    bl_samples_free (&changes);
    bl_samples_free (&reversals);
}

/* The plane, the scheduler, hs-replicas and our watch. */
static void s_start (bench_t *b, const char *bin_dir, bl_plane_t *plane)
{
    const char *names[] = {"hs-bus",      "hs-store", "hs-scheduler",
                           "hs-replicas", "hs-agent", "hs-shim"};
    bl_find_bins (names, 6, bin_dir, b->bin);
    if (!(b->autoscaler_bin = bl_find_bin ("hs-autoscaler", bin_dir))) bl_die ("no hs-autoscaler");
    b->tmp = bl_tmpdir ("hpa");
    snprintf (s_tmp, sizeof s_tmp, "%s/", b->tmp);
    snprintf (s_cg_parent, sizeof s_cg_parent, "hs-bench-%d", (int)getpid ());
    bl_cleanup_first (s_cleanup_workloads);
    bl_plane_start (plane, b->tmp, b->bin[0], b->bin[1], false);
    b->bus = plane->bus;
    int r = hs_client_new (b->bus, "bench-hpa", NULL, 10000, &b->cl);
    if (r < 0) bl_die ("cannot join hs-bus at %s: %s", b->bus, strerror (-r));
    static const hs_kind_t kinds[] = {HS_KIND_DEPLOYMENT, HS_KIND_HPA, HS_KIND_POD};
    hs_watch_opts_t wo = {.kinds = kinds, .n_kinds = 3, .fn = s_on_change, .arg = b};
    b->w = hs_client_watch (b->cl, &wo);
    if (!b->w || hs_watch_wait_synced (b->w, 20000) < 0) bl_die ("no snapshot from hs-store");
    for (int i = 2; i <= 3; i++) {
        _cleanup_free_ char *log = hs_sprintf ("%s/%s.log", b->tmp, names[i]);
        char *argv[] = {b->bin[i], "--bus", b->bus, NULL};
        bl_wait_log (log, "synced", bl_spawn (argv, log), 20000);
    }
}

int main (int argc, char **argv)
{
    bl_init ("bench-hpa");
    int runs = 5, kube_runs = 3, steady = 20;
    const char *bin_dir = NULL;
    static const struct option lo[] = {{"runs", required_argument, NULL, 'r'},
                                       {"kube-runs", required_argument, NULL, 'k'},
                                       {"steady", required_argument, NULL, 's'},
                                       {"bin", required_argument, NULL, 'b'},
                                       {NULL, 0, NULL, 0}};
    for (int c; (c = getopt_long (argc, argv, "", lo, NULL)) != -1;) {
        if (c == 'r')
            runs = bl_parse_int ("--runs", optarg, 0, 100);
        else if (c == 'k')
            kube_runs = bl_parse_int ("--kube-runs", optarg, 0, 100);
        else if (c == 's')
            steady = bl_parse_int ("--steady", optarg, 0, 3600);
        else if (c == 'b')
            bin_dir = optarg;
        else {
            fprintf (stderr,
                     "usage: bench-hpa [--runs N] [--kube-runs N] [--steady S] [--bin DIR]\n");
            return 2;
        }
    }
    if (geteuid () != 0) {
        printf ("bench-hpa: skipped: needs root (a real hs-agent: cgroups)\n");
        return 0;
    }
    bench_t b = {0};
    bl_plane_t plane;
    s_start (&b, bin_dir, &plane);
    timing_t t[] = {{"homeostat", "1s", "1s", runs, 1000},
                    {"kube", "60s", "15s", kube_runs, 60000}};
    srandom ((unsigned)(getpid () ^ hs_mono_ns ()));
    printf ("| timing    | usage / sync | %-26s | runs |       p50 |       max |\n", "measure");
    printf ("|-----------|--------------|----------------------------|------|-----------|----------"
            "-|\n");
    for (size_t i = 0; i < 2; i++)
        if (t[i].runs > 0) s_timing (&b, &t[i], steady);
    hs_client_destroy (&b.cl);
    s_cleanup_workloads ();
    bl_plane_free (&plane);
    bl_cleanup ();
    return 0;
}
