/*  bench_usage.c: bench-usage, what collecting pods' resource usage
 *  (usage.<node>/, NodeUsage) costs the process that does it.
 *
 *  (a) real pods (needs root: cgroups): hs-bus, hs-store and one hs-agent
 *      (cgroups under hs-bench-<pid>/, state in a temp dir) running --pods
 *      `sleep` pods bound to it. The agent's CPU time (/proc/<pid>/stat)
 *      over --seconds with --usage-interval 1s, then restarted (it adopts
 *      the running pods) with --usage-interval 0, then with 1s again: the
 *      difference is the collection's cost. hs-tap --stats subscribes to
 *      usage. so the messages really leave the agent. Then this process
 *      reads the same groups itself (hs_cg_usage, as the agent does) in a
 *      loop: the cost of one container's sample without the noise of the
 *      rest of the agent.
 *  (b) hs-hollow with --nodes hollow nodes and --hollow-pods pods (bound
 *      round-robin by nodeName, no scheduler): its CPU with usage on (each
 *      node one synthetic NodeUsage a second), off, on.
 *  Other processes on the machine add noise to (a) and (b): run it alone.
 *  Prints tables; no pass/fail.
 */
#include "benchlib.h"
#include "cgroup.h"
#include "hs_client.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS   1000000LL
#define NODE "bench-u1"

typedef struct {
    int pods, nodes, hollow_pods;
    double seconds;
    bool real, hollow;
    const char *bin;
} opts_t;

typedef struct {
    char *hsbus, *hsstore, *hsagent, *hsshim, *hshollow, *hstap;
    char *dir;
    bl_plane_t plane;
    hs_client_t *cl;
    hs_watch_t *pods;
} cluster_t;

typedef struct {
    const char *what;
    double on1, off, on2; /* CPU seconds over opts.seconds */
    int units;            /* pods */
} row_t;

static char s_cg_parent[64];
static char s_tmp[PATH_MAX]; /* the agent's state dir: its shims' command lines name it */
static pid_t s_agent_pid = -1;

static void s_cleanup_workloads (void)
{
    static bool done;
    if (done || !s_cg_parent[0]) return;
    done = true;
    if (s_agent_pid > 0) {
        kill (s_agent_pid, SIGKILL);
        waitpid (s_agent_pid, NULL, 0);
    }
    for (int pass = 0; pass < 3; pass++) {
        if (s_tmp[0]) bl_kill_cmdline (s_tmp);
        bl_cgroup_kill (s_cg_parent, NULL);
    }
    bl_cgroup_remove (s_cg_parent, NULL);
}

/* ------------------------------------------------------------------ pods */

static Hs__Object *s_pod (const char *name, const char *node)
{
    Hs__Object *obj = hs_obj_new (HS_KIND_POD, "default", name);
    Hs__Pod *pod = obj->pod;
    pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_set_str (&pod->spec->node_name, node);
    hs_pb_set_str (&pod->spec->restart_policy, "Always");
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "main");
    const char *argv[] = {"/bin/sleep", "3600"};
    for (int i = 0; i < 2; i++) {
        char *a = NULL;
        hs_pb_set_str (&a, argv[i]);
        hs_pb_push ((void ***)&c->command, &c->n_command, a);
    }
    hs_pb_push ((void ***)&pod->spec->containers, &pod->spec->n_containers, c);
    return obj;
}

/* n pods prefix0.. bound to node (or, nodes > 0, to hu-<i % nodes>), 100
 * per Command. */
static void s_make_pods (cluster_t *c, const char *prefix, int n, int nodes)
{
    for (int i = 0; i < n;) {
        Hs__Write *w[100];
        size_t k = 0;
        for (; k < 100 && i < n; k++, i++) {
            char name[64], node[32];
            snprintf (name, sizeof name, "%s%d", prefix, i);
            if (nodes) snprintf (node, sizeof node, "hu-%d", i % nodes);
            w[k] = hs_write_new (HS__OP__OP_APPLY, s_pod (name, nodes ? node : NODE));
        }
        Hs__Ack *ack = NULL;
        hs_call_opts_t opts = {.timeout_ms = 60000};
        int r = hs_client_call (c->cl, w, k, &opts, &ack);
        for (size_t j = 0; j < k; j++) hs_pb_free (w[j]);
        if (r < 0 || ack->code != HS__CODE__CODE_OK)
            bl_die ("cannot create pods: %s", r < 0 ? strerror (-r) : hs_s (ack->message));
        hs_pb_free (ack);
    }
}

static int s_running (cluster_t *c, const char *prefix)
{
    const Hs__Object **v = NULL;
    size_t n = hs_watch_list (c->pods, HS_KIND_POD, &v), k = 0;
    for (size_t i = 0; i < n; i++) {
        const Hs__Pod *p = v[i]->pod;
        k += hs_startswith (p->metadata->name, prefix) && p->status &&
             hs_streq (p->status->phase, "Running");
    }
    free (v);
    return (int)k;
}

static void s_wait_running (cluster_t *c, const char *prefix, int n, int timeout_s)
{
    int64_t deadline = hs_mono_ns () + timeout_s * 1000 * MS;
    while (s_running (c, prefix) < n) {
        if (hs_mono_ns () > deadline)
            bl_die ("only %d of %d pods %s* Running after %d s", s_running (c, prefix), n, prefix,
                    timeout_s);
        hs_client_process (c->cl, 200);
    }
}

/* ------------------------------------------------------------------ measuring */

/* The process's CPU seconds over `seconds`, after a 3 s warm-up; our client
 * keeps being served meanwhile. */
static double s_cpu (cluster_t *c, pid_t pid, double seconds)
{
    int64_t t = hs_mono_ns () + 3000 * MS;
    while (hs_mono_ns () < t) hs_client_process (c->cl, 100);
    double a = bl_cpu_s (pid);
    t = hs_mono_ns () + (int64_t)(seconds * 1000) * MS;
    while (hs_mono_ns () < t) hs_client_process (c->cl, 100);
    double b = bl_cpu_s (pid);
    if (a < 0 || b < 0) bl_die ("process %d died while measured", (int)pid);
    return b - a;
}

static pid_t s_start_agent (const opts_t *o, cluster_t *c, bool usage, const char *log_name)
{
    _cleanup_free_ char *log = hs_sprintf ("%s/%s", c->dir, log_name);
    _cleanup_free_ char *state = hs_sprintf ("%s/agent", c->dir);
    _cleanup_free_ char *parent = hs_sprintf ("%s/" NODE, s_cg_parent);
    char *argv[] = {c->hsagent,
                    "--bus",
                    c->plane.bus,
                    "--node-name",
                    NODE,
                    "--state-dir",
                    state,
                    "--cgroup-parent",
                    parent,
                    "--shim",
                    c->hsshim,
                    "--max-pods",
                    "1000",
                    "--usage-interval",
                    usage ? "1s" : "0",
                    NULL};
    s_agent_pid = bl_spawn (argv, log);
    bl_wait_log (log, "registered node", s_agent_pid, 30000);
    (void)o;
    return s_agent_pid;
}

static void s_stop_agent (void)
{
    bl_stop (s_agent_pid);
    s_agent_pid = -1;
}

/* (a): the agent's CPU with usage on, off, on. */
static void s_run_real (const opts_t *o, cluster_t *c, row_t *row)
{
    s_start_agent (o, c, true, "agent-on1.log");
    s_make_pods (c, "u-", o->pods, 0);
    s_wait_running (c, "u-", o->pods, 300);
    row->on1 = s_cpu (c, s_agent_pid, o->seconds);
    s_stop_agent ();
    s_start_agent (o, c, false, "agent-off.log");
    row->off = s_cpu (c, s_agent_pid, o->seconds);
    s_stop_agent ();
    s_start_agent (o, c, true, "agent-on2.log");
    row->on2 = s_cpu (c, s_agent_pid, o->seconds);
    row->what = "hs-agent, real pods";
    row->units = o->pods;
}

static int64_t s_cpu_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* (a'): hs_cg_usage over the agent's groups in this process: CPU ns per
 * read (this process's CPU time, not the wall clock: the machine may be
 * busy). */
static double s_direct (void)
{
    _cleanup_free_ char *parent = hs_sprintf ("%s/" NODE, s_cg_parent);
    hs_cg_t *cg = NULL;
    if (hs_cg_open (NULL, parent, &cg) < 0) return -1;
    char **groups = hs_cg_list (cg);
    size_t n = 0, reads = 0;
    int64_t t0 = s_cpu_ns ();
    for (int round = 0; round < 200 && groups; round++)
        for (n = 0; groups[n]; n++) {
            hs_cg_usage_t u;
            reads += hs_cg_usage (cg, groups[n], &u) == 0;
        }
    int64_t dt = s_cpu_ns () - t0;
    hs_cg_strv_free (groups);
    hs_cg_destroy (&cg);
    return reads ? (double)dt / (double)reads : -1;
}

/* (b): hs-hollow's CPU with usage on, off, on. */
static void s_run_hollow (const opts_t *o, cluster_t *c, row_t *row)
{
    char n_s[16];
    snprintf (n_s, sizeof n_s, "%d", o->nodes);
    double *slot[] = {&row->on1, &row->off, &row->on2};
    for (int k = 0; k < 3; k++) {
        _cleanup_free_ char *log = hs_sprintf ("%s/hollow-%d.log", c->dir, k);
        char *argv[] = {c->hshollow,
                        n_s,
                        "--bus",
                        c->plane.bus,
                        "--node-prefix",
                        "hu-",
                        "--usage-interval",
                        k == 1 ? "0" : "1s",
                        NULL};
        pid_t pid = bl_spawn (argv, log);
        bl_wait_log (log, "registered", pid, 300000);
        if (k == 0) {
            s_make_pods (c, "h-", o->hollow_pods, o->nodes);
            s_wait_running (c, "h-", o->hollow_pods, 600);
        }
        *slot[k] = s_cpu (c, pid, o->seconds);
        bl_stop (pid);
    }
    row->what = "hs-hollow, synthetic";
    row->units = o->hollow_pods;
}

/* ------------------------------------------------------------------ output */

static void s_print (const opts_t *o, const row_t *rows, size_t n, double direct_ns)
{
    printf ("\nCPU of the collecting process over %.0f s, usage on / off / on again "
            "(--usage-interval 1s / 0 / 1s):\n\n",
            o->seconds);
    printf ("%-22s %7s %9s %9s %9s %13s %15s\n", "process", "pods", "on (s)", "off (s)", "on2 (s)",
            "cost %core", "us/pod/second");
    for (size_t i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        double cost = ((r->on1 + r->on2) / 2 - r->off) / o->seconds; /* cores */
        printf ("%-22s %7d %9.3f %9.3f %9.3f %12.2f%% %15.1f\n", r->what, r->units, r->on1, r->off,
                r->on2, cost * 100, cost * 1e6 / r->units);
    }
    if (direct_ns > 0)
        printf ("\nhs_cg_usage of one container, read in this process (200 rounds over the "
                "agent's groups): %.1f us of CPU; for %d pods every second: %.3f%% of a core\n",
                direct_ns / 1000, o->pods, direct_ns * o->pods / 1e9 * 100);
}

/* ------------------------------------------------------------------ main */

static void s_usage (FILE *f)
{
    fprintf (f, "usage: bench-usage [--pods N] [--nodes N] [--hollow-pods N] [--seconds S]\n"
                "                   [--no-real] [--no-hollow] [--bin DIR]\n"
                "  --pods N         real sleep pods on one hs-agent (default 100; needs root)\n"
                "  --nodes N        hollow nodes (default 5000)\n"
                "  --hollow-pods N  hollow pods (default 10000)\n"
                "  --seconds S      each measurement's span (default 10)\n");
}

static void s_parse (int argc, char **argv, opts_t *o)
{
    static const struct option opts[] = {
        {"pods", 1, NULL, 'p'},    {"nodes", 1, NULL, 'n'},   {"hollow-pods", 1, NULL, 'P'},
        {"seconds", 1, NULL, 's'}, {"no-real", 0, NULL, 'R'}, {"no-hollow", 0, NULL, 'H'},
        {"bin", 1, NULL, 'b'},     {"help", 0, NULL, 'h'},    {NULL, 0, NULL, 0}};
    *o = (opts_t){.pods = 100,
                  .nodes = 5000,
                  .hollow_pods = 10000,
                  .seconds = 10,
                  .real = true,
                  .hollow = true};
    for (int ch; (ch = getopt_long (argc, argv, "h", opts, NULL)) != -1;) switch (ch) {
        case 'p': o->pods = bl_parse_int ("--pods", optarg, 1, 1000); break;
        case 'n': o->nodes = bl_parse_int ("--nodes", optarg, 1, 100000); break;
        case 'P': o->hollow_pods = bl_parse_int ("--hollow-pods", optarg, 1, 1000000); break;
        case 's': o->seconds = bl_parse_seconds ("--seconds", optarg, false); break;
        case 'R': o->real = false; break;
        case 'H': o->hollow = false; break;
        case 'b': o->bin = optarg; break;
        case 'h': s_usage (stdout); exit (0);
        default: s_usage (stderr); exit (2);
        }
    if (o->real && geteuid () != 0) {
        fprintf (stderr, "bench-usage: real pods need root (cgroups): skipping them\n");
        o->real = false;
    }
}

static void s_start (const opts_t *o, cluster_t *c)
{
    const char *names[] = {"hs-bus", "hs-store", "hs-agent", "hs-shim", "hs-hollow", "hs-tap"};
    char *bins[6];
    bl_find_bins (names, 6, o->bin, bins);
    *c = (cluster_t){.hsbus = bins[0],
                     .hsstore = bins[1],
                     .hsagent = bins[2],
                     .hsshim = bins[3],
                     .hshollow = bins[4],
                     .hstap = bins[5]};
    c->dir = bl_tmpdir ("usage");
    snprintf (s_tmp, sizeof s_tmp, "%s/agent/", c->dir); /* not hs-bus's or hs-store's */
    snprintf (s_cg_parent, sizeof s_cg_parent, "hs-bench-%d", (int)getpid ());
    bl_cleanup_first (s_cleanup_workloads);
    setenv ("HS_INSECURE", "1", 1);
    bl_plane_start (&c->plane, c->dir, c->hsbus, c->hsstore, true);
    int r = hs_client_new (c->plane.bus, "bench-usage", "1", 20000, &c->cl);
    if (r < 0) bl_die ("cannot join the bus: %s", strerror (-r));
    hs_kind_t kinds[] = {HS_KIND_POD};
    hs_watch_opts_t wo = {.kinds = kinds, .n_kinds = 1};
    c->pods = hs_client_watch (c->cl, &wo);
    if (!c->pods || hs_watch_wait_synced (c->pods, 20000) < 0) bl_die ("cannot watch pods");
    _cleanup_free_ char *tap_log = hs_sprintf ("%s/tap.log", c->dir);
    char *tap[] = {c->hstap, "--bus", c->plane.bus, "--stats", "usage.", NULL};
    bl_spawn (tap, tap_log);
}

int main (int argc, char **argv)
{
    opts_t o;
    bl_init ("bench-usage");
    s_parse (argc, argv, &o);
    cluster_t c;
    s_start (&o, &c);
    row_t rows[2];
    size_t n = 0;
    double direct = -1;
    if (o.real) {
        s_run_real (&o, &c, &rows[n++]);
        direct = s_direct ();
        s_stop_agent ();
        s_cleanup_workloads ();
    }
    if (o.hollow) s_run_hollow (&o, &c, &rows[n++]);
    s_print (&o, rows, n, direct);
    hs_client_destroy (&c.cl);
    return 0;
}
