/*  bench_podstart.c: bench-podstart, how fast a real pod starts and how fast
 *  a crashed container is back, through the whole control plane, without and
 *  with pod networking.
 *
 *  Spawns hs-bus (also on ipc://), hs-store (temp data dir, durable by
 *  default), hs-scheduler and two real hs-agents (cgroups under
 *  hs-bench-<pid>/, state in the temp dir: needs root):
 *    bench-n1 in our network namespace with --pod-network none (every pod
 *      in the node's network, as before);
 *    bench-n2 inside a network namespace made here (hs-bench-<pid>-n2,
 *      joined with nsenter --net), reaching the bus through ipc://, with
 *      --pod-network bridge: each pod gets its own namespace, loopback and
 *      bridge+host-local ADDs (Debian's CNI plugins), an IP in 10.244.1.0/24.
 *  Pods go to one node or the other by nodeSelector kubernetes.io/hostname.
 *  bench-n1 runs with --allow-privileged: its "unhardened" pods (us-, ub-)
 *  are privileged, so they start as every pod did before issue 16 (every
 *  capability, no seccomp filter, no no_new_privs), side by side with the
 *  same pods under the hardened defaults (Docker's capabilities,
 *  no_new_privs, the RuntimeDefault-like seccomp profile).
 *  Then, for each node:
 *
 *    sequential: 100 pods, one at a time: apply one (a Command sent with
 *      hs_client_send), wait until it is Running, then the next (on
 *      bench-n1, a hardened pod and an unhardened one in turn);
 *    burst: 100 more pods, 100 Commands sent at once;
 *    crash: for 20 of the sequential pods, one at a time, kill -9 the
 *      container's process (the pid of containerStatuses[0].containerID,
 *      hs://<node>/<pid>) and wait for the event showing restartCount 1 and
 *      state running.
 *
 *  Times are CLOCK_REALTIME of one host: ours when the Command was sent or
 *  the kill(2) returned, and the store's WatchEvent.committed_at_ns of the
 *  event that shows the result. Every pod runs /bin/sleep 3600 (no requests).
 *  At exit (and on SIGINT/SIGTERM) every process in our cgroups and every
 *  shim of ours (they setsid) is killed and the cgroups removed. Prints
 *  tables; no pass/fail.
 */
#include "benchlib.h"
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
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS       1000000LL
#define NODE     "bench-n1"
#define NODE_NET "bench-n2" /* the node with a pod network */
#define MAX_PODS 1000
/* sequential, burst; with a pod network: sequential, burst; on bench-n1,
 * unhardened (privileged) sequential, and a mixed burst: unhardened and
 * hardened */
#define GROUPS 7

typedef struct {
    int64_t sent;      /* our realtime when the apply went out */
    int64_t created;   /* creationTimestamp */
    int64_t bound;     /* committed_at of the first event with nodeName */
    int64_t running;   /* committed_at of the first event with phase Running */
    pid_t pid;         /* the container's, from containerID */
    int restarts;      /* restartCount of containerStatuses[0] */
    bool cs_running;   /* containerStatuses[0].state.running */
    int64_t restarted; /* committed_at of the first event with restartCount >= 1, running */
} pt_t;

typedef struct {
    hs_client_t *cl;
    int n;   /* pods per phase */
    pt_t *t; /* GROUPS * n: ps-, pb- (bench-n1), ns-, nb- (bench-n2), us-, ub-, hb- (bench-n1) */
    int acked, failed;
    char *err;
} bench_t;

/* ------------------------------------------------------------------ cleanup */

/* What the exit and signal paths need, in fixed storage. */
static char s_cg_parent[64];   /* hs-bench-<pid> */
static char s_tmp[PATH_MAX];   /* our temp dir: the shims' command lines name it */
static pid_t s_agent_pid = -1; /* stopped first, so it restarts nothing */
static pid_t s_agent2_pid = -1;
static char s_netns[64];           /* hs-bench-<pid>-n2, once made */
static char s_netns_dir[PATH_MAX]; /* the pods' pinned namespaces (in s_tmp) */

/* Runs argv (a full path) and waits: its exit code, or -1. */
static int s_run (char *const argv[])
{
    pid_t pid = fork ();
    if (pid == 0) {
        execv (argv[0], argv);
        _exit (127);
    }
    int st = 0;
    if (pid < 0 || waitpid (pid, &st, 0) < 0) return -1;
    return WIFEXITED (st) ? WEXITSTATUS (st) : -1;
}

/* Kills the agent, then our shims and everything in our cgroups, and removes
 * the cgroups. Once; at exit, on a signal (bl_cleanup_first) or at the end. */
static void s_cleanup_workloads (void)
{
    static bool done;
    if (done || !s_cg_parent[0]) return;
    done = true;
    pid_t agents[] = {s_agent_pid, s_agent2_pid};
    for (size_t i = 0; i < 2; i++)
        if (agents[i] > 0) {
            kill (agents[i], SIGKILL);
            waitpid (agents[i], NULL, 0);
        }
    for (int pass = 0; pass < 3; pass++) {
        if (s_tmp[0]) bl_kill_cmdline (s_tmp); /* the shims: --state names it */
        bl_cgroup_kill (s_cg_parent, NULL);
    }
    bl_cgroup_remove (s_cg_parent, NULL);
    /* The pods' pinned namespaces and the agent's prepared ones (.pool-N),
     * then the node's (its bridge and veths go with it; the leases are in
     * the temp dir). */
    if (s_netns_dir[0]) {
        DIR *d = opendir (s_netns_dir);
        struct dirent *e;
        while (d && (e = readdir (d))) {
            if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0) continue;
            char path[PATH_MAX + 256];
            snprintf (path, sizeof path, "%s/%s", s_netns_dir, e->d_name);
            umount2 (path, MNT_DETACH);
            unlink (path);
        }
        if (d) closedir (d);
    }
    if (s_netns[0]) {
        char *del[] = {"/usr/sbin/ip", "netns", "del", s_netns, NULL};
        if (s_run (del) != 0) fprintf (stderr, "bench-podstart: cannot delete netns %s\n", s_netns);
        s_netns[0] = '\0';
    }
}

/* ------------------------------------------------------------------ events */

static const char *const s_prefix[GROUPS] = {"ps-", "pb-", "ns-", "nb-", "us-", "ub-", "hb-"};

static int s_index (const bench_t *b, const char *name)
{
    int64_t v;
    for (int g = 0; g < GROUPS; g++)
        if (hs_startswith (name, s_prefix[g]) && hs_parse_i64 (name + 3, &v) == 0 && v >= 0 &&
            v < b->n)
            return g * b->n + (int)v;
    return -1;
}

static void s_on_pod_ev (void *arg, const char *topic, const Hs__Envelope *env)
{
    bench_t *b = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_EVENT || !env->event->object) return;
    const Hs__Pod *pod = env->event->object->pod;
    if (!pod || !pod->metadata || env->event->type == HS__EVENT_TYPE__DELETED) return;
    int i = s_index (b, pod->metadata->name);
    if (i < 0) return;
    pt_t *t = &b->t[i];
    int64_t at = env->event->committed_at_ns;
    if (!t->created) t->created = pod->metadata->creation_timestamp;
    if (!t->bound && pod->spec && !hs_empty (pod->spec->node_name)) t->bound = at;
    const Hs__PodStatus *st = pod->status;
    if (!t->running && st && hs_streq (st->phase, "Running")) t->running = at;
    if (st && st->n_container_statuses > 0) {
        const Hs__ContainerStatus *cs = st->container_statuses[0];
        t->restarts = cs->restart_count;
        t->cs_running = cs->state && cs->state->running;
        const char *slash = cs->container_id ? strrchr (cs->container_id, '/') : NULL;
        int64_t pid;
        if (slash && hs_startswith (cs->container_id, "hs://") &&
            hs_parse_i64 (slash + 1, &pid) == 0 && pid > 1 && pid < INT_MAX)
            t->pid = (pid_t)pid;
        if (!t->restarted && t->restarts >= 1 && t->cs_running) t->restarted = at;
    }
}

/* ------------------------------------------------------------------ pods */

/* privileged: none of the hardening (every capability, no seccomp filter,
 * no no_new_privs), as pods ran before issue 16. bound: spec.nodeName set,
 * so the pods reach the agent in the order they were sent (the scheduler
 * binds a batch in its own order). */
static Hs__Object *s_make_pod (const char *name, const char *node, bool privileged, bool bound)
{
    Hs__Object *obj = hs_obj_new (HS_KIND_POD, "default", name);
    Hs__Pod *pod = obj->pod;
    pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    if (bound)
        hs_pb_set_str (&pod->spec->node_name, node);
    else
        hs_pb_map_set ((void ***)&pod->spec->node_selector, &pod->spec->n_node_selector,
                       &hs__pod_spec__node_selector_entry__descriptor, "kubernetes.io/hostname",
                       node);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "main");
    hs_pb_set_str (&c->image, "busybox:1.36");
    char *a0 = NULL, *a1 = NULL;
    hs_pb_set_str (&a0, "/bin/sleep");
    hs_pb_set_str (&a1, "3600");
    hs_pb_push ((void ***)&c->command, &c->n_command, a0);
    hs_pb_push ((void ***)&c->command, &c->n_command, a1);
    if (privileged) {
        c->security_context = hs_pb_new (&hs__security_context__descriptor);
        c->security_context->privileged = hs_pb_new (&hs__bool_value__descriptor);
        c->security_context->privileged->value = true;
    }
    hs_pb_push ((void ***)&pod->spec->containers, &pod->spec->n_containers, c);
    hs_pb_set_str (&pod->spec->restart_policy, "Always");
    return obj;
}

static void s_on_ack (void *arg, int err, const Hs__Ack *ack)
{
    bench_t *b = arg;
    if (err == 0 && ack->code == HS__CODE__CODE_OK) {
        b->acked++;
        return;
    }
    b->failed++;
    if (!b->err) b->err = hs_strdup (err ? strerror (-err) : hs_s (ack->message));
}

static void s_apply (bench_t *b, int i)
{
    char name[32];
    int g = i / b->n;
    snprintf (name, sizeof name, "%s%d", s_prefix[g], i % b->n);
    Hs__Write *w =
        hs_write_new (HS__OP__OP_APPLY, s_make_pod (name, g == 2 || g == 3 ? NODE_NET : NODE,
                                                    g == 4 || g == 5, g >= 5));
    hs_call_opts_t opts = {.timeout_ms = 30000};
    b->t[i].sent = hs_now_ns ();
    int r = hs_client_send (b->cl, &w, 1, &opts, s_on_ack, b);
    hs_pb_free (w);
    if (r < 0) bl_die ("cannot send an apply: %s", strerror (-r));
}

static void s_pump (bench_t *b, int ms)
{
    int r = hs_client_process (b->cl, ms);
    if (r < 0 && r != -EINTR) bl_die ("the bus failed: %s", strerror (-r));
}

/* Pumps until cond (b, i) or timeout; false on timeout. */
static bool s_wait (bench_t *b, bool (*cond) (const bench_t *, int), int i, int timeout_ms)
{
    int64_t deadline = hs_mono_ns () + timeout_ms * MS;
    while (!cond (b, i)) {
        if (hs_mono_ns () > deadline || b->failed) return false;
        s_pump (b, 10);
    }
    return true;
}

static bool s_is_running (const bench_t *b, int i)
{
    return b->t[i].running != 0;
}

static bool s_all_running (const bench_t *b, int from)
{
    for (int i = from; i < from + b->n; i++)
        if (!b->t[i].running) return false;
    return true;
}

static bool s_restarted (const bench_t *b, int i)
{
    return b->t[i].restarted != 0;
}

/* ------------------------------------------------------------------ reporting */

static int s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static const char *s_ms (int64_t ns, char *buf, size_t len)
{
    snprintf (buf, len, "%.1f ms", (double)ns / 1e6);
    return buf;
}

/* One row: n samples (sorted here): p50, p99, max. */
static void s_row (const char *what, int64_t *v, size_t n)
{
    char b[3][32];
    qsort (v, n, sizeof *v, s_cmp);
    if (n == 0) {
        printf ("%-34s %6d %10s %10s %10s\n", what, 0, "-", "-", "-");
        return;
    }
    printf ("%-34s %6zu %10s %10s %10s\n", what, n, s_ms (v[(n - 1) / 2], b[0], 32),
            s_ms (v[(size_t)((double)(n - 1) * 0.99)], b[1], 32), s_ms (v[n - 1], b[2], 32));
}

/* p50, p99 and max of a phase's apply -> Running, for the side-by-side table. */
typedef struct {
    size_t n;
    int64_t p50, p99, max;
} s_stat_t;

static s_stat_t s_phase_stat (const bench_t *b, int from)
{
    s_stat_t st = {0};
    int64_t *v = hs_calloc ((size_t)b->n, sizeof *v);
    for (int i = from; i < from + b->n; i++)
        if (b->t[i].running) v[st.n++] = b->t[i].running - b->t[i].sent;
    qsort (v, st.n, sizeof *v, s_cmp);
    if (st.n) {
        st.p50 = v[(st.n - 1) / 2];
        st.p99 = v[(size_t)((double)(st.n - 1) * 0.99)];
        st.max = v[st.n - 1];
    }
    free (v);
    return st;
}

/* The phase's rows: apply -> Running, and the steps in between. */
static void s_rows (const char *label, const bench_t *b, int from)
{
    int64_t *v[4];
    size_t n[4] = {0};
    for (int k = 0; k < 4; k++) v[k] = hs_calloc ((size_t)b->n, sizeof (int64_t));
    for (int i = from; i < from + b->n; i++) {
        const pt_t *t = &b->t[i];
        if (!t->running) continue;
        v[0][n[0]++] = t->running - t->sent;
        if (t->created) v[1][n[1]++] = t->created - t->sent;
        if (t->created && t->bound) v[2][n[2]++] = t->bound - t->created;
        if (t->bound) v[3][n[3]++] = t->running - t->bound;
    }
    char what[64];
    snprintf (what, sizeof what, "%s: apply -> Running", label);
    s_row (what, v[0], n[0]);
    s_row ("  apply -> created", v[1], n[1]);
    s_row ("  created -> bound", v[2], n[2]);
    s_row ("  bound -> Running", v[3], n[3]);
    for (int k = 0; k < 4; k++) free (v[k]);
}

/* ------------------------------------------------------------------ main */

/* What the command line asks for. */
typedef struct {
    const char *bin_dir; /* --bin */
    int pods;            /* --pods: per phase, sequential and burst */
    int crashes;         /* --crashes: at most pods */
    bool nosync;         /* --no-sync */
} opts_t;

/* The servers we started, and what we must free. */
typedef struct {
    char *bin[5]; /* hs-bus, hs-store, hs-scheduler, hs-agent, hs-shim */
    char *tmp;
    bl_plane_t plane; /* hs-bus, hs-store */
    char *log_sched, *log_agent, *log_agent2;
    char *state, *state2; /* the agents' --state-dir */
} cluster_t;

static void s_usage (FILE *f)
{
    fprintf (f, "usage: bench-podstart [--bin DIR] [--pods N] [--crashes N] [--no-sync]\n"
                "  --bin DIR     where hs-bus, hs-store, hs-scheduler, hs-agent, hs-shim are\n"
                "  --pods N      pods per phase, sequential and burst, on each node (default 100)\n"
                "  --crashes N   containers killed, one at a time (default 20)\n"
                "  --no-sync     hs-store --no-sync (labelled; not durable)\n"
                "Needs root (cgroups, network namespaces), nsenter, ip and\n"
                "/usr/lib/cni/{bridge,host-local,loopback} (containernetworking-plugins).\n");
}

/* Fills o from the command line (dies on a bad value). Returns -1 to run the
 * benchmark, or the exit code: 0 after --help, 2 after an unknown flag. */
static int s_parse_args (int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.pods = 100, .crashes = 20};
    static struct option opts[] = {
        {"bin", required_argument, 0, 'b'},     {"pods", required_argument, 0, 'p'},
        {"crashes", required_argument, 0, 'c'}, {"no-sync", no_argument, 0, 'N'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    int c;
    int64_t v;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o->bin_dir = optarg; break;
        case 'p':
            if (hs_parse_i64 (optarg, &v) < 0 || v < 1 || v > MAX_PODS / GROUPS)
                bl_die ("--pods: 1..%d: %s", MAX_PODS / GROUPS, optarg);
            o->pods = (int)v;
            break;
        case 'c': o->crashes = bl_parse_int ("--crashes", optarg, 0, MAX_PODS / 2); break;
        case 'N': o->nosync = true; break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    /* Only the sequential pods are killed. */
    if (o->crashes > o->pods) o->crashes = o->pods;
    return -1;
}

/* bl_plane_start, with the bus also on ipc://DIR/bus: the agent inside
 * the node's network namespace has no route to our 127.0.0.1. */
static void s_plane_start (bl_plane_t *p, const char *dir, char *hsbus, char *hsstore, bool nosync)
{
    memset (p, 0, sizeof *p);
    int port = bl_free_port (true);
    char port_s[16];
    snprintf (port_s, sizeof port_s, "%d", port);
    snprintf (p->bus, sizeof p->bus, "127.0.0.1:%d", port);
    p->bus_log = hs_sprintf ("%s/hs-bus.log", dir);
    p->store_log = hs_sprintf ("%s/hs-store.log", dir);
    p->data = hs_sprintf ("%s/store", dir);
    _cleanup_free_ char *ipc = hs_sprintf ("%s/bus", dir);
    hs_mkdir_p (ipc, 0700);
    char *a_bus[] = {hsbus, "--bind", "127.0.0.1", "--port", port_s, "--ipc", ipc, NULL};
    p->bus_pid = bl_spawn (a_bus, p->bus_log);
    if (bl_wait_tcp (port + 1, 5000) < 0) bl_die ("hs-bus did not start");
    char *a_store[] = {hsstore, "--bus", p->bus, "--data", p->data, nosync ? "--no-sync" : NULL,
                       NULL};
    p->store_pid = bl_spawn (a_store, p->store_log);
}

/* Starts hs-bus, hs-store, our client (watching ev.pod.), hs-scheduler and
 * the agent, each waited for; arms the workload cleanup first. Dies on any
 * failure (the cleanup runs). */
static void s_start (const opts_t *o, bench_t *b, cluster_t *c)
{
    *c = (cluster_t){0};
    const char *names[] = {"hs-bus", "hs-store", "hs-scheduler", "hs-agent", "hs-shim"};
    bl_find_bins (names, 5, o->bin_dir, c->bin);
    c->tmp = bl_tmpdir ("podstart");
    snprintf (s_tmp, sizeof s_tmp, "%s/", c->tmp);
    snprintf (s_cg_parent, sizeof s_cg_parent, "hs-bench-%d", (int)getpid ());
    bl_cleanup_first (s_cleanup_workloads);
    c->log_sched = hs_sprintf ("%s/hs-scheduler.log", c->tmp);
    c->log_agent = hs_sprintf ("%s/hs-agent.log", c->tmp);
    c->state = hs_sprintf ("%s/agent", c->tmp);
    s_plane_start (&c->plane, c->tmp, c->bin[0], c->bin[1], o->nosync);
    char *bus = c->plane.bus;
    int r = hs_client_new (bus, "bench-podstart", NULL, 10000, &b->cl);
    if (r < 0) bl_die ("cannot join hs-bus at %s: %s", bus, strerror (-r));
    hs_client_on (b->cl, "ev.pod.", s_on_pod_ev, b);
    char *a_sched[] = {c->bin[2], "--bus", bus, NULL};
    pid_t sched_pid = bl_spawn (a_sched, c->log_sched);
    bl_wait_log (c->log_sched, "scheduling pods", sched_pid, 20000);
    char max_pods[16], parent[96];
    snprintf (max_pods, sizeof max_pods, "%d", 5 * b->n + 10); /* each node's share */
    snprintf (parent, sizeof parent, "%s/n1", s_cg_parent);
    char *a_agent[] = {c->bin[3], "--bus",
                       bus,       "--node-name",
                       NODE,      "--state-dir",
                       c->state,  "--cgroup-parent",
                       parent,    "--shim",
                       c->bin[4], "--max-pods",
                       max_pods,  "--allow-privileged",
                       NULL};
    s_agent_pid = bl_spawn (a_agent, c->log_agent);
    bl_wait_log (c->log_agent, "registered node " NODE, s_agent_pid, 20000);
    if (!bl_alive (c->plane.store_pid)) bl_die ("hs-store died");

    /* The node with a pod network: its own network namespace. */
    snprintf (s_netns, sizeof s_netns, "hs-bench-%d-n2", (int)getpid ());
    char *add[] = {"/usr/sbin/ip", "netns", "add", s_netns, NULL};
    if (s_run (add) != 0) {
        s_netns[0] = '\0';
        bl_die ("ip netns add hs-bench-%d-n2 failed", (int)getpid ());
    }
    char *lo[] = {"/usr/sbin/ip", "-n", s_netns, "link", "set", "lo", "up", NULL};
    if (s_run (lo) != 0) bl_die ("ip -n %s link set lo up failed", s_netns);
    snprintf (s_netns_dir, sizeof s_netns_dir, "%s/netns", c->tmp);
    c->log_agent2 = hs_sprintf ("%s/hs-agent-n2.log", c->tmp);
    c->state2 = hs_sprintf ("%s/agent-n2", c->tmp);
    char ipc_bus[PATH_MAX + 16], net[PATH_MAX], cni[PATH_MAX + 8], parent2[96];
    snprintf (ipc_bus, sizeof ipc_bus, "ipc://%s/bus", c->tmp);
    snprintf (net, sizeof net, "--net=/run/netns/%s", s_netns);
    snprintf (cni, sizeof cni, "%s/cni", c->tmp);
    snprintf (parent2, sizeof parent2, "%s/n2", s_cg_parent);
    char *a_agent2[] = {"/usr/bin/nsenter",
                        net,
                        c->bin[3],
                        "--bus",
                        ipc_bus,
                        "--node-name",
                        NODE_NET,
                        "--state-dir",
                        c->state2,
                        "--cgroup-parent",
                        parent2,
                        "--shim",
                        c->bin[4],
                        "--max-pods",
                        max_pods,
                        "--pod-network",
                        "bridge",
                        "--pod-cidr",
                        "10.244.1.0/24",
                        "--cni-data-dir",
                        cni,
                        "--netns-dir",
                        s_netns_dir,
                        NULL};
    s_agent2_pid = bl_spawn (a_agent2, c->log_agent2);
    bl_wait_log (c->log_agent2, "registered node " NODE_NET, s_agent2_pid, 20000);
}

/* The title, what the rows mean, and the table's header. */
static void s_print_intro (const opts_t *o, const bench_t *b)
{
    printf ("\n== bench-podstart: real pods through hs-store (%s), hs-scheduler and one hs-agent\n",
            o->nosync ? "--no-sync, NOT durable" : "durable");
    printf ("   Each pod: one container, /bin/sleep 3600, restartPolicy Always, no requests; the\n"
            "   agent runs it under hs-shim in its own cgroup and PID/mount/UTS/IPC namespaces.\n"
            "   " NODE ": no pod network; " NODE_NET ": its own network namespace per pod, CNI\n"
            "   loopback + bridge/host-local (ADDs at once), the shim joins it.\n"
            "   apply = our realtime when the Command was sent; created = creationTimestamp;\n"
            "   bound/Running = WatchEvent.committed_at_ns of the first event showing it.\n"
            "   sequential: %d pods, one at a time (apply, wait for Running, next);\n"
            "   burst: %d pods, %d Commands sent at once.\n\n",
            b->n, b->n, b->n);
    printf ("%-34s %6s %10s %10s %10s\n", "", "pods", "p50", "p99", "max");
}

/* Group g's pods one at a time: apply, wait until Running, the next.
 * Prints the phase's rows; dies if one is not Running within 30 s. */
static int s_sandbox_row (const char *log, int skip, const char *what);
static const char *s_log2; /* bench-n2's log: its sandbox times */
static int s_log2_seen;

static void s_run_sequential (bench_t *b, int g, const char *label)
{
    for (int i = g * b->n; i < (g + 1) * b->n; i++) {
        s_apply (b, i);
        if (!s_wait (b, s_is_running, i, 30000))
            bl_die ("pod %s%d not Running within 30 s%s%s", s_prefix[g], i % b->n,
                    b->err ? ": " : "", hs_s (b->err));
    }
    s_rows (label, b, g * b->n);
    if (g == 2 || g == 3)
        s_log2_seen = s_sandbox_row (s_log2, s_log2_seen, "sandbox ADD (agent's log)");
}

/* Groups g and u (the same pods, hardened and not) in turn, one pod at a
 * time: apply, wait until Running, the next; so both see the same machine
 * over the same minutes. Prints both phases' rows. */
static void s_run_sequential_pair (bench_t *b, int g, int u, const char *label_g,
                                   const char *label_u)
{
    for (int k = 0; k < b->n; k++)
        for (int j = 0; j < 2; j++) {
            int grp = j == 0 ? g : u, i = grp * b->n + k;
            s_apply (b, i);
            if (!s_wait (b, s_is_running, i, 30000))
                bl_die ("pod %s%d not Running within 30 s%s%s", s_prefix[grp], k,
                        b->err ? ": " : "", hs_s (b->err));
        }
    s_rows (label_g, b, g * b->n);
    s_rows (label_u, b, u * b->n);
}

/* Group g's pods: every apply at once, then wait for all. Prints the
 * phase's rows; dies if they are not all Running within 60 s. */
static void s_run_burst (bench_t *b, int g, const char *label)
{
    for (int i = g * b->n; i < (g + 1) * b->n; i++) s_apply (b, i);
    if (!s_wait (b, s_all_running, g * b->n, 60000))
        bl_die ("the burst was not Running within 60 s%s%s", b->err ? ": " : "", hs_s (b->err));
    s_rows (label, b, g * b->n);
    if (g == 2 || g == 3)
        s_log2_seen = s_sandbox_row (s_log2, s_log2_seen, "sandbox ADD (agent's log)");
}

/* Groups u and h (unhardened and hardened) in one burst, their applies in
 * turn, all at once, bound already (no scheduler: its batch order would
 * favour one group); then wait for all. Prints both phases' rows. */
static void s_run_burst_pair (bench_t *b, int u, int h)
{
    for (int k = 0; k < b->n; k++) {
        s_apply (b, u * b->n + k);
        s_apply (b, h * b->n + k);
    }
    if (!s_wait (b, s_all_running, u * b->n, 60000) || !s_wait (b, s_all_running, h * b->n, 60000))
        bl_die ("the mixed burst was not Running within 60 s%s%s", b->err ? ": " : "",
                hs_s (b->err));
    s_rows ("mixed burst, hardened", b, h * b->n);
    s_rows ("mixed burst, unhardened", b, u * b->n);
}

/* The sandbox times hs-agent logged ("network ready, ... (12.3 ms" : from
 * the sandbox's start to its main ADD's result) after the first `skip`
 * such lines: one row. Returns how many lines there were in all. */
static int s_sandbox_row (const char *log, int skip, const char *what)
{
    FILE *f = fopen (log, "re");
    if (!f) return skip;
    int64_t *v = hs_calloc (MAX_PODS + 1, sizeof *v);
    size_t n = 0;
    int seen = 0, prepared = 0;
    char line[1024];
    while (fgets (line, sizeof line, f)) {
        const char *r = strstr (line, "network ready, ");
        const char *paren = r ? strrchr (line, '(') : NULL;
        double ms;
        if (!paren || sscanf (paren, "(%lf ms", &ms) != 1) continue;
        if (seen++ < skip || n >= MAX_PODS) continue;
        v[n++] = (int64_t)(ms * 1e6);
        prepared += strstr (paren, "prepared") != NULL;
    }
    fclose (f);
    char label[96];
    snprintf (label, sizeof label, "  %s (%d prepared)", what, prepared);
    s_row (label, v, n);
    free (v);
    return seen;
}

/* The side-by-side table: apply -> Running without and with a pod network. */
static void s_print_compare (const bench_t *b)
{
    char x[6][32];
    printf ("\n%-22s %28s   %28s\n", "apply -> Running", "no pod network (" NODE ")",
            "pod network, bridge (" NODE_NET ")");
    printf ("%-22s %9s %9s %9s   %9s %9s %9s\n", "", "p50", "p99", "max", "p50", "p99", "max");
    const char *labels[] = {"sequential", "burst"};
    for (int k = 0; k < 2; k++) {
        s_stat_t a = s_phase_stat (b, k * b->n), n = s_phase_stat (b, (2 + k) * b->n);
        printf ("%-22s %9s %9s %9s   %9s %9s %9s\n", labels[k], s_ms (a.p50, x[0], 32),
                s_ms (a.p99, x[1], 32), s_ms (a.max, x[2], 32), s_ms (n.p50, x[3], 32),
                s_ms (n.p99, x[4], 32), s_ms (n.max, x[5], 32));
    }
}

/* The side-by-side table: apply -> Running with the hardened defaults and
 * without (privileged), on bench-n1. */
static void s_print_hardening (const bench_t *b)
{
    char x[6][32];
    printf ("\n%-22s %28s   %28s\n", "apply -> Running", "hardened defaults (" NODE ")",
            "privileged, none (" NODE ")");
    printf ("%-22s %9s %9s %9s   %9s %9s %9s\n", "", "p50", "p99", "max", "p50", "p99", "max");
    const char *labels[] = {"sequential", "mixed burst"};
    for (int k = 0; k < 2; k++) {
        s_stat_t a = s_phase_stat (b, (k ? 6 : 0) * b->n), n = s_phase_stat (b, (k ? 5 : 4) * b->n);
        printf ("%-22s %9s %9s %9s   %9s %9s %9s\n", labels[k], s_ms (a.p50, x[0], 32),
                s_ms (a.p99, x[1], 32), s_ms (a.max, x[2], 32), s_ms (n.p50, x[3], 32),
                s_ms (n.p99, x[4], 32), s_ms (n.max, x[5], 32));
    }
    printf ("   hardened: Docker's capabilities, no_new_privs, the RuntimeDefault-like seccomp\n"
            "   profile; privileged: every capability, no filter, no no_new_privs (pods before\n"
            "   issue 16). Sequential pods alternate between the two; the mixed burst sends\n"
            "   %d of each at once, in turn, with spec.nodeName set (no scheduler).\n",
            b->n);
}

/* kill -9 of the first `crashes` sequential pods' containers, one at a time,
 * each until the event showing it restarted. Prints the crash table. */
static void s_run_crashes (bench_t *b, int crashes)
{
    int64_t *lat = hs_calloc ((size_t)crashes + 1, sizeof (int64_t));
    size_t nl = 0;
    for (int i = 0; i < crashes; i++) {
        pt_t *t = &b->t[i];
        if (t->pid <= 1) bl_die ("pod ps-%d has no container pid", i);
        pid_t pid = t->pid;
        int64_t killed = hs_now_ns ();
        if (kill (pid, SIGKILL) < 0) bl_die ("kill %d: %s", (int)pid, strerror (errno));
        if (!s_wait (b, s_restarted, i, 30000))
            bl_die ("pod ps-%d was not restarted within 30 s", i);
        lat[nl++] = t->restarted - killed;
    }
    printf ("\n%-34s %6s %10s %10s %10s\n", "", "pods", "p50", "p99", "max");
    s_row ("crash: kill -9 -> restarted event", lat, nl);
    printf ("   the event shows restartCount 1 and state running; the agent's first restart\n"
            "   is immediate by design (later ones back off, 10 s doubling).\n");
    free (lat);
}

/* Frees what s_start allocated; the processes and the temp dir go with the
 * cleanup. */
static void s_cluster_free (cluster_t *c)
{
    for (int i = 0; i < 5; i++) free (c->bin[i]);
    bl_plane_free (&c->plane);
    free (c->log_sched);
    free (c->log_agent);
    free (c->log_agent2);
    free (c->state);
    free (c->state2);
    free (c->tmp);
}

int main (int argc, char **argv)
{
    bl_init ("bench-podstart");
    opts_t o;
    int rc = s_parse_args (argc, argv, &o);
    if (rc >= 0) return rc;
    if (geteuid () != 0) bl_die ("needs root: the agent makes cgroups and namespaces");
    bench_t b = {.n = o.pods};
    b.t = hs_calloc ((size_t)(GROUPS * b.n), sizeof *b.t);
    cluster_t c;
    s_start (&o, &b, &c);
    s_log2 = c.log_agent2;
    s_print_intro (&o, &b);
    s_run_sequential_pair (&b, 0, 4, "sequential", "sequential, unhardened");
    s_run_sequential (&b, 2, "sequential, pod network");
    s_run_burst (&b, 1, "burst");
    s_run_burst (&b, 3, "burst, pod network");
    s_run_burst_pair (&b, 5, 6);
    s_print_compare (&b);
    s_print_hardening (&b);
    s_run_crashes (&b, o.crashes);
    hs_client_destroy (&b.cl);
    s_cleanup_workloads ();
    free (b.t);
    free (b.err);
    s_cluster_free (&c);
    return 0;
}
