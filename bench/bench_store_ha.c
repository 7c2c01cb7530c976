/*  bench_store_ha.c: bench-store-ha, durable writes through a 3-member
 *  replicated hs-store against a 3-member etcd, and failover times.
 *
 *  Same run, same machine, same client shape as bench-store (the clients
 *  are bench-store's own: storeload.c):
 *    1. hs-store single (no --peers): today's store, the reference;
 *    2. hs-store, 3 members (--member/--peers, one hs-bus broker each on
 *       loopback, clients and stores given the broker list);
 *    3. etcd (Debian's 3.4), 3 members on loopback, native gRPC and the v3
 *       JSON gateway, the clients on the leader's client URL (etcd's best
 *       case: no follower forwarding hop).
 *  Both replicated systems run with the same election timeout (--election-
 *  timeout, default 300 ms; etcd's heartbeat = timeout/6 like hs-store's).
 *
 *  Failover (--runs N, default 10, each system): 16 clients write, a prober
 *  process SIGKILLs the current leader and then writes (new pod / new key,
 *  retrying at once on any error) until one write is acked; the time from
 *  the kill to that ack is one sample. The killed member is restarted on its
 *  data and the next run waits until the cluster has 3 members and a leader.
 *  Prints tables; no pass/fail.
 */
#include "benchlib.h"
#include "hs_bus.h"
#include "hs_client.h"
#include "hs_log.h"
#include "hs_pb.h"
#include "hs_util.h"
#include "storeload.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEMBERS 3

typedef struct {
    const char *bin_dir;
    int clients[16], nclients, max_procs, runs, election_ms;
    double secs, warm;
    bool hs, etcd, single;
} opts_t;

/* ------------------------------------------------------------------ hs-store cluster */

/* The members' logs (DIR/<prefix><i>.log) and why we give up. */
static void s_no_leader (const char *dir, const char *prefix, const char *what, int secs)
{
    for (int i = 0; i < MEMBERS; i++) {
        char log[512];
        snprintf (log, sizeof log, "%s/%s%d.log", dir, prefix, i + 1);
        fprintf (stderr, "--- %s\n", log);
        bl_tail_log (log, 10);
    }
    fprintf (stderr, "bench-store-ha: the 3 %s members elected no leader in %d s\n", what, secs);
}

typedef struct {
    char *hsbus, *hsstore, *dir;
    int bus_port[MEMBERS], raft_port[MEMBERS];
    pid_t bus_pid[MEMBERS], store_pid[MEMBERS];
    char buses[256], peers[256];
    int election_ms;
} hsc_t;

static void s_hsc_spawn_store (hsc_t *c, int i)
{
    char member[16], data[512], log[512], et[16];
    snprintf (member, sizeof member, "s%d", i + 1);
    snprintf (data, sizeof data, "%s/s%d", c->dir, i + 1);
    snprintf (log, sizeof log, "%s/hs-store-s%d.log", c->dir, i + 1);
    snprintf (et, sizeof et, "%d", c->election_ms);
    char *argv[] = {"/usr/bin/env",
                    "HS_INSECURE=1",
                    c->hsstore,
                    "--bus",
                    c->buses,
                    "--data",
                    data,
                    "--member",
                    member,
                    "--peers",
                    c->peers,
                    "--election-timeout",
                    et,
                    NULL};
    c->store_pid[i] = bl_spawn (argv, log);
}

/* The member that reports role "leader" on hb.raft.* (and agrees with a
 * majority's leader field), within timeout_ms: its index, or -1. */
static int s_hsc_leader (const hsc_t *c, int timeout_ms, int need_members)
{
    hs_bus_t *bus = NULL;
    if (hs_bus_connect (c->buses, "bench-store-ha", NULL, &bus) < 0) return -1;
    hs_bus_subscribe (bus, "hb.raft.");
    int leader = -1;
    int64_t deadline = hs_mono_ns () + (int64_t)timeout_ms * 1000000;
    if (hs_bus_join (bus, timeout_ms) == 0) {
        bool seen[MEMBERS] = {0};
        while (hs_mono_ns () < deadline) {
            char *topic;
            Hs__Envelope *env;
            if (hs_bus_recv (bus, &topic, &env, 100) < 0) continue;
            if (env->body_case == HS__ENVELOPE__BODY_STORE_HEARTBEAT) {
                const Hs__StoreHeartbeat *hb = env->store_heartbeat;
                int m = hb->member && hb->member[0] == 's' ? atoi (hb->member + 1) - 1 : -1;
                if (m >= 0 && m < MEMBERS) {
                    seen[m] = true;
                    if (hs_streq (hb->role, "leader")) leader = m;
                }
            }
            free (topic);
            hs_pb_free (env);
            int n = 0;
            for (int i = 0; i < MEMBERS; i++) n += seen[i];
            if (leader >= 0 && n >= need_members) break;
        }
    }
    hs_bus_destroy (&bus);
    return leader;
}

static int s_hsc_start (hsc_t *c, const char *tmp, const char *hsbus, const char *hsstore,
                        int election_ms)
{
    c->hsbus = (char *)hsbus;
    c->hsstore = (char *)hsstore;
    c->election_ms = election_ms;
    c->dir = hs_sprintf ("%s/hs-ha", tmp);
    mkdir (c->dir, 0700);
    size_t bl = 0, pl = 0;
    for (int i = 0; i < MEMBERS; i++) {
        c->bus_port[i] = bl_free_port (true);
        char port_s[16], log[512];
        snprintf (port_s, sizeof port_s, "%d", c->bus_port[i]);
        snprintf (log, sizeof log, "%s/hs-bus-%d.log", c->dir, i + 1);
        char *argv[] = {(char *)hsbus, "--bind", "127.0.0.1", "--port", port_s, "--insecure", NULL};
        c->bus_pid[i] = bl_spawn (argv, log);
        if (bl_wait_tcp (c->bus_port[i] + 1, 5000) < 0) {
            bl_tail_log (log, 20);
            return -1;
        }
        c->raft_port[i] = bl_free_port (false);
        bl += (size_t)snprintf (c->buses + bl, sizeof c->buses - bl, "%s127.0.0.1:%d", i ? "," : "",
                                c->bus_port[i]);
        pl += (size_t)snprintf (c->peers + pl, sizeof c->peers - pl, "%ss%d=127.0.0.1:%d",
                                i ? "," : "", i + 1, c->raft_port[i]);
    }
    /* One Secrets keyring for the three members (hs-store requires it). */
    uint8_t raw[32];
    FILE *ur = fopen ("/dev/urandom", "r");
    if (!ur || fread (raw, 1, sizeof raw, ur) != sizeof raw) bl_die ("cannot read /dev/urandom");
    fclose (ur);
    char *b64 = sl_base64 (raw, sizeof raw);
    char *kpath = hs_sprintf ("%s/encryption.key", c->dir);
    FILE *kf = fopen (kpath, "w");
    if (!kf) bl_die ("cannot write %s", kpath);
    fchmod (fileno (kf), 0600);
    fprintf (kf, "key-bench %s\n", b64);
    fclose (kf);
    free (kpath);
    free (b64);
    for (int i = 0; i < MEMBERS; i++) s_hsc_spawn_store (c, i);
    if (s_hsc_leader (c, 20000, MEMBERS) < 0) {
        s_no_leader (c->dir, "hs-store-s", "hs-store", 20);
        return -1;
    }
    return 0;
}

static void s_hsc_stop (hsc_t *c)
{
    for (int i = 0; i < MEMBERS; i++)
        if (c->store_pid[i] > 0) bl_stop (c->store_pid[i]);
    for (int i = 0; i < MEMBERS; i++)
        if (c->bus_pid[i] > 0) bl_stop (c->bus_pid[i]);
    free (c->dir);
    c->dir = NULL;
}

/* ------------------------------------------------------------------ etcd cluster */

typedef struct {
    char *dir;
    int cport[MEMBERS], pport[MEMBERS];
    pid_t pid[MEMBERS];
    char cluster[512];
    int election_ms;
} etc_t;

static void s_etc_spawn (etc_t *e, int i)
{
    char name[16], data[512], log[512], et[16], hb[16];
    snprintf (name, sizeof name, "e%d", i + 1);
    snprintf (data, sizeof data, "%s/e%d", e->dir, i + 1);
    snprintf (log, sizeof log, "%s/etcd-e%d.log", e->dir, i + 1);
    snprintf (et, sizeof et, "%d", e->election_ms);
    snprintf (hb, sizeof hb, "%d", e->election_ms / 6);
    const char *extra[] = {"--initial-cluster-state",
                           "new",
                           "--initial-cluster-token",
                           "bench-store-ha",
                           "--election-timeout",
                           et,
                           "--heartbeat-interval",
                           hb,
                           NULL};
    e->pid[i] = sl_spawn_etcd (name, e->cport[i], e->pport[i], e->cluster, data, log, extra);
}

/* "member_id" and "leader" of one member's /v3/maintenance/status. */
static int s_etc_status (int port, char *member, char *leader, size_t len)
{
    char *body = NULL;
    int st = sl_http_post (port, "/v3/maintenance/status", "{}", &body);
    int rc = -1;
    const char *m = body && st == 200 ? strstr (body, "\"member_id\":\"") : NULL;
    const char *l = body && st == 200 ? strstr (body, "\"leader\":\"") : NULL;
    if (m && l) {
        snprintf (member, len, "%.*s", (int)strcspn (m + 13, "\""), m + 13);
        snprintf (leader, len, "%.*s", (int)strcspn (l + 10, "\""), l + 10);
        rc = 0;
    }
    free (body);
    return rc;
}

/* The member that leads, once all need members answer and agree, or -1. */
static int s_etc_leader (const etc_t *e, int timeout_ms, int need)
{
    int64_t deadline = hs_mono_ns () + (int64_t)timeout_ms * 1000000;
    while (hs_mono_ns () < deadline) {
        char id[MEMBERS][32], lead[MEMBERS][32];
        int up = 0, leader = -1;
        for (int i = 0; i < MEMBERS; i++) {
            if (!bl_alive (e->pid[i]) || s_etc_status (e->cport[i], id[i], lead[i], 32) < 0) {
                id[i][0] = lead[i][0] = '\0';
                continue;
            }
            up++;
            if (hs_streq (id[i], lead[i]) && !hs_streq (lead[i], "0")) leader = i;
        }
        if (up >= need && leader >= 0) return leader;
        usleep (20000);
    }
    return -1;
}

static int s_etc_start (etc_t *e, const char *tmp, int election_ms)
{
    if (access ("/usr/bin/etcd", X_OK) != 0) {
        fprintf (stderr, "bench-store-ha: /usr/bin/etcd not found (Debian package etcd-server)\n");
        return -1;
    }
    e->election_ms = election_ms;
    e->dir = hs_sprintf ("%s/etcd-ha", tmp);
    mkdir (e->dir, 0700);
    size_t cl = 0;
    for (int i = 0; i < MEMBERS; i++) {
        e->cport[i] = bl_free_port (true);
        e->pport[i] = e->cport[i] + 1;
        cl += (size_t)snprintf (e->cluster + cl, sizeof e->cluster - cl,
                                "%se%d=http://127.0.0.1:%d", i ? "," : "", i + 1, e->pport[i]);
    }
    for (int i = 0; i < MEMBERS; i++) s_etc_spawn (e, i);
    if (s_etc_leader (e, 30000, MEMBERS) < 0) {
        s_no_leader (e->dir, "etcd-e", "etcd", 30);
        return -1;
    }
    return 0;
}

static void s_etc_stop (etc_t *e)
{
    for (int i = 0; i < MEMBERS; i++)
        if (e->pid[i] > 0) bl_stop (e->pid[i]);
    free (e->dir);
    e->dir = NULL;
}

/* ------------------------------------------------------------------ failover prober */

typedef struct {
    bool etcd;
    pid_t victim;       /* the leader's pid */
    const char *buses;  /* hs */
    int ports[MEMBERS]; /* etcd: the survivors' client ports (0: none) */
    const char *dir;
    int run;
    int64_t lead_ns; /* load time before the kill */
} probe_t;

/* Kills the leader, then writes until one write is acked; result c[0] = ns
 * from the kill to that ack (0: none within 30 s), c[1] = failed attempts. */
static int s_probe (void *arg, int i)
{
    (void)i;
    const probe_t *p = arg;
    bl_result_t res = {0};
    hs_client_t *cl = NULL;
    if (!p->etcd) {
        char inst[32];
        snprintf (inst, sizeof inst, "probe%d", (int)getpid ());
        if (hs_client_new (p->buses, "bench-store-ha", inst, 10000, &cl) < 0)
            bl_worker_fail ("prober: cannot join hs-bus at %s", p->buses);
    }
    int64_t t0 = bl_worker_ready ();
    bl_sleep_until (t0 + p->lead_ns);
    int64_t t_kill = hs_mono_ns ();
    kill (p->victim, SIGKILL);
    int64_t deadline = t_kill + 30000000000LL;
    for (int n = 0; hs_mono_ns () < deadline && res.c[0] == 0; n++) {
        if (p->etcd) {
            int port = p->ports[n % MEMBERS];
            if (!port) continue;
            char body[256], *resp = NULL;
            /* key /probe/<run>/<n>, base64 of "k" is enough: distinct values */
            snprintf (body, sizeof body, "{\"key\":\"%s\",\"value\":\"dg==\"}",
                      n % 2 ? "cHJvYmUx" : "cHJvYmUy");
            int st = sl_http_req (port, "/v3/kv/put", body, 100, &resp);
            if (st == 200 && resp && !strstr (resp, "\"error\""))
                res.c[0] = (uint64_t)(hs_mono_ns () - t_kill);
            else
                res.c[1]++;
            free (resp);
        } else {
            char name[64];
            snprintf (name, sizeof name, "probe-r%d-%d", p->run, n);
            Hs__Write *wr = hs_write_new (HS__OP__OP_APPLY, sl_make_pod (name, hs_now_ns ()));
            hs_call_opts_t opts = {.timeout_ms = 5000};
            Hs__Ack *ack = NULL;
            int r = hs_client_call (cl, &wr, 1, &opts, &ack);
            hs_pb_free (wr);
            if (r == 0 && ack && ack->code == HS__CODE__CODE_OK)
                res.c[0] = (uint64_t)(hs_mono_ns () - t_kill);
            else
                res.c[1]++;
            hs_pb_free (ack);
        }
    }
    if (cl) hs_client_destroy (&cl);
    char *path = hs_sprintf ("%s/probe", p->dir);
    int r = bl_result_write (path, &res);
    free (path);
    return r < 0;
}

/* One failover run under a 16-client load: the load group and the prober
 * group start together; returns kill->ack in ns (0: failed). */
static uint64_t s_failover_once (const char *tmp, int run, row_t *load, probe_t *p)
{
    char *dir = hs_sprintf ("%s/fo%d-%s", tmp, run, p->etcd ? "etcd" : "hs");
    mkdir (dir, 0700);
    load->dir = dir;
    p->dir = dir;
    p->run = run;
    bool hs = load->target == TARGET_HS;
    bl_group_t *g = bl_group_start (load->procs + (hs ? 1 : 0), sl_worker, load);
    bl_group_t *pg = bl_group_start (1, s_probe, p);
    int64_t t0;
    uint64_t ns = 0;
    if (bl_group_go (g, 30000, 100, &t0) == 0 && bl_group_go (pg, 30000, 100, &t0) == 0) {
        bl_group_wait (&pg, 40000);
        bl_result_t r = {0};
        char *path = hs_sprintf ("%s/probe", dir);
        if (bl_result_read (path, &r) == 0) ns = r.c[0];
        bl_result_free (&r);
        free (path);
    } else {
        bl_group_wait (&pg, 1000);
    }
    bl_group_wait (&g, (int)((load->warm_ns + load->dur_ns) / 1000000) + 20000);
    free (dir);
    return ns;
}

static void s_print_failover (const char *what, bl_samples_t *s, int runs, int failed)
{
    char b[3][32];
    bl_samples_sort (s);
    printf ("%-22s %5d %6d %10s %10s %10s\n", what, runs, failed,
            s->n ? bl_fmt_ns (bl_pct (s, 50), b[0], 32) : "-",
            s->n ? bl_fmt_ns (bl_pct (s, 99), b[1], 32) : "-",
            s->n ? bl_fmt_ns (bl_pct (s, 100), b[2], 32) : "-");
}

/* ------------------------------------------------------------------ main */

static void s_usage (FILE *f)
{
    fprintf (f, "usage: bench-store-ha [--bin DIR] [--clients 1,16,256] [--procs K] [--seconds S]\n"
                "                      [--warmup S] [--runs N] [--election-timeout MS]\n"
                "                      [--no-etcd] [--no-hs] [--no-single]\n"
                "  --runs N               failover runs per system (default 10; 0: none)\n"
                "  --election-timeout MS  hs-store's and etcd's (default 300)\n");
}

static int s_parse_args (int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.clients = {1, 16, 256},
                  .nclients = 3,
                  .max_procs = 8,
                  .runs = 10,
                  .election_ms = 300,
                  .secs = 5,
                  .warm = 1,
                  .hs = true,
                  .etcd = true,
                  .single = true};
    static struct option opts[] = {{"bin", required_argument, 0, 'b'},
                                   {"clients", required_argument, 0, 'c'},
                                   {"procs", required_argument, 0, 'p'},
                                   {"seconds", required_argument, 0, 's'},
                                   {"warmup", required_argument, 0, 'w'},
                                   {"runs", required_argument, 0, 'r'},
                                   {"election-timeout", required_argument, 0, 't'},
                                   {"no-etcd", no_argument, 0, 'E'},
                                   {"no-hs", no_argument, 0, 'H'},
                                   {"no-single", no_argument, 0, 'S'},
                                   {"help", no_argument, 0, 'h'},
                                   {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "b:c:p:s:w:r:t:EHSh", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o->bin_dir = optarg; break;
        case 'c': {
            o->nclients = 0;
            char *copy = hs_strdup (optarg), *save = NULL;
            for (char *t = strtok_r (copy, ",", &save); t && o->nclients < 16;
                 t = strtok_r (NULL, ",", &save))
                o->clients[o->nclients++] = bl_parse_int ("--clients", t, 1, 4096);
            free (copy);
            break;
        }
        case 'p': o->max_procs = bl_parse_int ("--procs", optarg, 1, 64); break;
        case 's': o->secs = bl_parse_seconds ("--seconds", optarg, false); break;
        case 'w': o->warm = bl_parse_seconds ("--warmup", optarg, true); break;
        case 'r': o->runs = bl_parse_int ("--runs", optarg, 0, 1000); break;
        case 't': o->election_ms = bl_parse_int ("--election-timeout", optarg, 60, 60000); break;
        case 'E': o->etcd = false; break;
        case 'H': o->hs = false; break;
        case 'S': o->single = false; break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    return -1;
}

typedef struct {
    const opts_t *o;
    char *tmp;
    int rown, bad;
    size_t pod_size;
    rowres_t single[16], ha[16], grpc[16], json[16];
    bl_samples_t fo_hs, fo_etcd;
    int fo_hs_failed, fo_etcd_failed;
} run_t;

static row_t s_row (run_t *run, int i, target_t t)
{
    const opts_t *o = run->o;
    return (row_t){.target = t,
                   .row = ++run->rown,
                   .clients = o->clients[i],
                   .procs = o->clients[i] < o->max_procs ? o->clients[i] : o->max_procs,
                   .warm_ns = (int64_t)(o->warm * 1e9),
                   .dur_ns = (int64_t)(o->secs * 1e9),
                   .value_size = run->pod_size};
}

static void s_hs_table (run_t *run, const char *bus, pid_t store, pid_t buspid, rowres_t *res)
{
    sl_print_hs_header ();
    for (int i = 0; i < run->o->nclients; i++) {
        row_t row = s_row (run, i, TARGET_HS);
        row.bus = bus;
        row.server_pid = store;
        row.bus_pid = buspid;
        if (sl_run_row (run->tmp, &row, &res[i]) < 0 || !bl_alive (store)) {
            run->bad++;
            break;
        }
        sl_print_hs_row (&row, &res[i]);
    }
}

static void s_single_pass (run_t *run, char *hsbus, char *hsstore)
{
    bl_plane_t p = {0};
    char *dir = hs_sprintf ("%s/single", run->tmp);
    mkdir (dir, 0700);
    bl_plane_start (&p, dir, hsbus, hsstore, false);
    printf ("\n== bench-store-ha: hs-store single (no --peers), durable: the reference\n"
            "   bench-store's rows (see bench/README.md): C logical clients in K processes,\n"
            "   one OP_APPLY of a new %zu-byte Pod in flight each; %g s warm-up, %g s measured.\n",
            run->pod_size, run->o->warm, run->o->secs);
    s_hs_table (run, p.bus, p.store_pid, p.bus_pid, run->single);
    bl_stop (p.store_pid);
    bl_stop (p.bus_pid);
    bl_plane_free (&p);
    free (dir);
}

static void s_hs_ha_pass (run_t *run, char *hsbus, char *hsstore)
{
    const opts_t *o = run->o;
    hsc_t c = {0};
    if (s_hsc_start (&c, run->tmp, hsbus, hsstore, o->election_ms) < 0) {
        run->bad++;
        s_hsc_stop (&c);
        return;
    }
    int leader = s_hsc_leader (&c, 5000, MEMBERS);
    printf ("\n== bench-store-ha: hs-store, 3 members (--peers, --election-timeout %d), durable\n"
            "   3 hs-bus brokers + 3 hs-store members on loopback, one data dir each (one\n"
            "   disk); clients and stores get the broker list (%s);\n"
            "   an ack = the write committed by a majority. store cpu = the leader's (s%d).\n",
            o->election_ms, c.buses, leader + 1);
    s_hs_table (run, c.buses, leader >= 0 ? c.store_pid[leader] : -1, c.bus_pid[0], run->ha);
    for (int r = 0; r < o->runs; r++) {
        leader = s_hsc_leader (&c, 20000, MEMBERS);
        if (leader < 0) {
            fprintf (stderr, "bench-store-ha: failover run %d: no leader with 3 members\n", r);
            run->fo_hs_failed += o->runs - r;
            break;
        }
        row_t load = s_row (run, 0, TARGET_HS);
        load.clients = 16;
        load.procs = 4;
        load.warm_ns = 0;
        load.dur_ns = 3000000000LL;
        load.bus = c.buses;
        load.server_pid = load.bus_pid = -1;
        probe_t p = {.etcd = false,
                     .victim = c.store_pid[leader],
                     .buses = c.buses,
                     .lead_ns = 1000000000LL};
        uint64_t ns = s_failover_once (run->tmp, r, &load, &p);
        if (ns)
            bl_samples_add (&run->fo_hs, ns);
        else
            run->fo_hs_failed++;
        bl_stop (c.store_pid[leader]); /* reaps it */
        s_hsc_spawn_store (&c, leader);
    }
    s_hsc_stop (&c);
}

static void s_etcd_table (run_t *run, etc_t *e, bool grpc, rowres_t *res)
{
    int leader = s_etc_leader (e, 10000, MEMBERS);
    if (leader < 0) {
        run->bad++;
        return;
    }
    printf ("\n== bench-store-ha: etcd 3.4, 3 members (--election-timeout %d --heartbeat-interval "
            "%d), its default fsync\n"
            "   client: %s, one connection per logical client, all on the leader's client URL\n"
            "   (e%d: no forwarding hop, etcd's best case); a new key per put, %zu-byte value.\n",
            e->election_ms, e->election_ms / 6,
            grpc ? "native gRPC (etcdserverpb.KV/Put, h2c, bench-store's C client)"
                 : "v3 JSON gateway (POST /v3/kv/put, HTTP/1.1 keep-alive)",
            leader + 1, run->pod_size);
    sl_print_etcd_header ();
    for (int i = 0; i < run->o->nclients; i++) {
        row_t row = s_row (run, i, TARGET_ETCD);
        row.etcd_port = e->cport[leader];
        row.grpc = grpc;
        row.server_pid = e->pid[leader];
        row.bus_pid = -1;
        if (sl_run_row (run->tmp, &row, &res[i]) < 0) {
            run->bad++;
            break;
        }
        sl_print_etcd_row (&row, &res[i]);
    }
}

static void s_etcd_pass (run_t *run)
{
    const opts_t *o = run->o;
    etc_t e = {0};
    if (s_etc_start (&e, run->tmp, o->election_ms) < 0) {
        run->bad++;
        s_etc_stop (&e);
        return;
    }
    s_etcd_table (run, &e, true, run->grpc);
    s_etcd_table (run, &e, false, run->json);
    for (int r = 0; r < o->runs; r++) {
        int leader = s_etc_leader (&e, 30000, MEMBERS);
        if (leader < 0) {
            run->fo_etcd_failed += o->runs - r;
            break;
        }
        row_t load = s_row (run, 0, TARGET_ETCD);
        load.clients = 16;
        load.procs = 4;
        load.warm_ns = 0;
        load.dur_ns = 3000000000LL;
        /* the load on a follower (it forwards), so it survives the kill */
        load.etcd_port = e.cport[(leader + 1) % MEMBERS];
        load.server_pid = load.bus_pid = -1;
        probe_t p = {.etcd = true, .victim = e.pid[leader], .lead_ns = 1000000000LL};
        for (int i = 0; i < MEMBERS; i++) p.ports[i] = i == leader ? 0 : e.cport[i];
        uint64_t ns = s_failover_once (run->tmp, 100 + r, &load, &p);
        if (ns)
            bl_samples_add (&run->fo_etcd, ns);
        else
            run->fo_etcd_failed++;
        bl_stop (e.pid[leader]);
        s_etc_spawn (&e, leader);
    }
    s_etc_stop (&e);
}

static void s_summary (run_t *run)
{
    const opts_t *o = run->o;
    printf ("\n== summary: durable writes/s, same machine, same run, same client shape\n");
    printf ("%7s %12s %12s %12s %12s %11s %11s %11s\n", "clients", "hs single", "hs 3-member",
            "etcd3 gRPC", "etcd3 JSON", "hs3 p99", "gRPC p99", "JSON p99");
    for (int i = 0; i < o->nclients; i++) {
        char b[7][32];
        const rowres_t *s = &run->single[i], *h = &run->ha[i], *g = &run->grpc[i],
                       *j = &run->json[i];
        printf ("%7d %12s %12s %12s %12s %11s %11s %11s\n", o->clients[i],
                s->done ? bl_fmt_count (s->rate, b[0], 32) : "-",
                h->done ? bl_fmt_count (h->rate, b[1], 32) : "-",
                g->done ? bl_fmt_count (g->rate, b[2], 32) : "-",
                j->done ? bl_fmt_count (j->rate, b[3], 32) : "-",
                h->done ? bl_fmt_ns (bl_pct (&h->lat, 99), b[4], 32) : "-",
                g->done ? bl_fmt_ns (bl_pct (&g->lat, 99), b[5], 32) : "-",
                j->done ? bl_fmt_ns (bl_pct (&j->lat, 99), b[6], 32) : "-");
    }
    if (o->runs > 0) {
        printf ("\n== failover: SIGKILL the leader under a 16-client load; kill -> first acked\n"
                "   write (a new one, sent after the kill; etcd: a new put to a survivor on any\n"
                "   error or after 100 ms unanswered; hs: hs_client resends at the new epoch);\n"
                "   election timeout %d ms on both\n",
                o->election_ms);
        printf ("%-22s %5s %6s %10s %10s %10s\n", "system", "runs", "failed", "p50", "p99", "max");
        if (o->hs) s_print_failover ("hs-store 3 members", &run->fo_hs, o->runs, run->fo_hs_failed);
        if (o->etcd)
            s_print_failover ("etcd 3 members (JSON)", &run->fo_etcd, o->runs, run->fo_etcd_failed);
    }
}

int main (int argc, char **argv)
{
    bl_init ("bench-store-ha");
    hs_log_set_level (HS_LOG_ERROR);
    opts_t o;
    int rc = s_parse_args (argc, argv, &o);
    if (rc >= 0) return rc;
    run_t run = {.o = &o};
    run.tmp = bl_tmpdir ("store-ha");
    run.pod_size = sl_pod_size ();
    char *hsbus = NULL, *hsstore = NULL;
    if (o.hs || o.single) {
        hsbus = bl_find_bin ("hs-bus", o.bin_dir);
        hsstore = bl_find_bin ("hs-store", o.bin_dir);
        if (!hsbus || !hsstore) bl_die ("bench-store-ha: cannot find hs-bus/hs-store (--bin)");
    }
    if (o.single) s_single_pass (&run, hsbus, hsstore);
    if (o.hs) s_hs_ha_pass (&run, hsbus, hsstore);
    if (o.etcd) s_etcd_pass (&run);
    s_summary (&run);
    for (int i = 0; i < 16; i++) {
        sl_rowres_free (&run.single[i]);
        sl_rowres_free (&run.ha[i]);
        sl_rowres_free (&run.grpc[i]);
        sl_rowres_free (&run.json[i]);
    }
    bl_samples_free (&run.fo_hs);
    bl_samples_free (&run.fo_etcd);
    free (hsbus);
    free (hsstore);
    free (run.tmp);
    return run.bad ? 1 : 0;
}
