/*  bench_store.c: bench-store, durable applies through hs-store, and the same
 *  workload against etcd in the same run (--etcd).
 *
 *  hs-store rows: spawns hs-bus and hs-store (data dir in a temp dir, default
 *  fsync), then for C concurrent clients forks K client processes (K =
 *  min(C, --procs)), each with its own hs_client (own bus connection) and C/K
 *  logical clients. A logical client keeps exactly one Command with one
 *  OP_APPLY of a small Pod in flight: hs_client_send, wait for its ack, send
 *  the next; every request names a new pod, so every write is a real insert.
 *  A separate subscriber process on "ev.pod." measures commit->event
 *  (its CLOCK_REALTIME at receipt - WatchEvent.committed_at_ns) and
 *  send->event (the sender's CLOCK_REALTIME is in a pod annotation).
 *
 *  etcd rows: starts Debian's etcd (single node, its default fsync), and the
 *  same shape: C logical clients spread over the same K processes, each on its
 *  own HTTP/1.1 keep-alive connection to etcd's v3 JSON gateway
 *  (POST /v3/kv/put), one put in flight, a new key every time, a value as big
 *  as our packed Pod.
 *
 *  Each row: warm-up, then a fixed measurement window; a request counts when
 *  its answer arrives inside the window. Prints tables; no pass/fail.
 */
#include "benchlib.h"
#include "storeload.h"
#include "hs_bus.h"
#include "hs_client.h"
#include "hs_log.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ servers */

typedef struct {
    pid_t bus_pid, store_pid;
    char *bus_log, *store_log, *data;
    char bus[64];
} hs_servers_t;

/* Starts hs-bus and hs-store; secured with pki (hs-bus --pki, hs-store as
 * identity "store") when given, else plaintext (hs-bus --insecure). */
static int s_start_hs (const char *tmp, const char *hsbus, const char *hsstore, bool nosync,
                       const char *tag, const char *pki, hs_servers_t *s)
{
    int port = bl_free_port (true);
    char port_s[16];
    snprintf (port_s, sizeof port_s, "%d", port);
    snprintf (s->bus, sizeof s->bus, "127.0.0.1:%d", port);
    s->bus_log = hs_sprintf ("%s/hs-bus-%s.log", tmp, tag);
    s->store_log = hs_sprintf ("%s/hs-store-%s.log", tmp, tag);
    s->data = hs_sprintf ("%s/store-%s", tmp, tag);
    char *argv_bus[] = {(char *)hsbus, "--bind", "127.0.0.1",
                        "--port",      port_s,   pki ? "--pki" : "--insecure",
                        (char *)pki,   NULL};
    s->bus_pid = bl_spawn (argv_bus, s->bus_log);
    if (bl_wait_tcp (port + 1, 5000) < 0 || !bl_alive (s->bus_pid)) {
        bl_tail_log (s->bus_log, 20);
        fprintf (stderr, "bench-store: hs-bus did not start\n");
        return -1;
    }
    _cleanup_free_ char *cred = pki ? hs_sprintf ("HS_CREDENTIAL=%s/creds/store.cred", pki) : NULL;
    /* env execs hs-store in place: the pid is hs-store's */
    char *argv_store[] = {"/usr/bin/env",
                          cred ? cred : "HS_INSECURE=1",
                          (char *)hsstore,
                          "--bus",
                          s->bus,
                          "--data",
                          s->data,
                          nosync ? "--no-sync" : NULL,
                          NULL};
    s->store_pid = bl_spawn (argv_store, s->store_log);
    usleep (200000);
    if (!bl_alive (s->store_pid)) {
        bl_tail_log (s->store_log, 20);
        fprintf (stderr, "bench-store: hs-store exited at start\n");
        return -1;
    }
    return 0;
}

static void s_stop_hs (hs_servers_t *s)
{
    if (s->store_pid > 0) bl_stop (s->store_pid);
    if (s->bus_pid > 0) bl_stop (s->bus_pid);
    free (s->bus_log);
    free (s->store_log);
    free (s->data);
    memset (s, 0, sizeof *s);
}

/* ------------------------------------------------------------------ main */

/* What the command line asks for. */
typedef struct {
    const char *bin_dir; /* --bin */
    int clients[16];     /* --clients: C of each row */
    int nclients;
    int max_procs;        /* --procs: K = min(C, this) */
    double secs, warm;    /* --seconds, --warmup */
    bool etcd, only_etcd; /* --etcd, --only-etcd */
    bool nosync_row;      /* --no-sync-row */
    bool plain, curve;    /* the main tables; the CURVE comparison (--plain, --curve) */
} opts_t;

/* One run of the benchmark: what every pass needs, what the summary reads. */
typedef struct {
    const opts_t *o;
    char *tmp;
    size_t pod_size;       /* bytes of our packed Pod: etcd's value size */
    int procs_of[16];      /* K of each row */
    int rown;              /* rows started so far: names each row's directory */
    int bad;               /* failures; exit code 1 if any */
    char *hsbus, *hsstore; /* NULL with --only-etcd or if not found */
    rowres_t hs[16], nosync[16], grpc[16], json[16];
} run_t;

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: bench-store [--bin DIR] [--clients 1,16,256] [--procs K] [--seconds S]\n"
             "                   [--warmup S] [--etcd] [--only-etcd] [--no-sync-row]\n"
             "                   [--plain | --curve]\n"
             "  --bin DIR       where hs-bus and hs-store are (default: $HS_BIN, then next to us)\n"
             "  --clients LIST  concurrent logical clients per row (default 1,16,256)\n"
             "  --procs K       at most K client processes per row (default 8)\n"
             "  --seconds S     measurement window per row (default 5)\n"
             "  --warmup S      warm-up before each window (default 1)\n"
             "  --etcd          also run the same workload against etcd (Debian's /usr/bin/etcd)\n"
             "  --only-etcd     run only the etcd rows\n"
             "  --no-sync-row   add rows with hs-store --no-sync (labelled; not durable)\n"
             "  --plain         skip the CURVE comparison\n"
             "  --curve         only the CURVE comparison: a plaintext and a CURVE hs-bus +\n"
             "                  hs-store side by side, rows interleaved\n");
}

/* --clients LIST into o->clients; dies on a bad list. */
static void s_parse_clients (const char *arg, opts_t *o)
{
    o->nclients = 0;
    char *copy = hs_strdup (arg), *save = NULL;
    for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save)) {
        int64_t v;
        if (hs_parse_i64 (t, &v) < 0 || v <= 0 || v > 4096 || o->nclients >= 16)
            bl_die ("--clients: bad list %s", arg);
        o->clients[o->nclients++] = (int)v;
    }
    free (copy);
}

/* Fills o from the command line (dies on a bad value). Returns -1 to run the
 * benchmark, or the exit code: 0 after --help, 2 after an unknown flag. */
static int s_parse_args (int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.clients = {1, 16, 256},
                  .nclients = 3,
                  .max_procs = 8,
                  .secs = 5,
                  .warm = 1,
                  .plain = true,
                  .curve = true};
    static struct option opts[] = {
        {"bin", required_argument, 0, 'b'},    {"clients", required_argument, 0, 'c'},
        {"procs", required_argument, 0, 'p'},  {"seconds", required_argument, 0, 's'},
        {"warmup", required_argument, 0, 'w'}, {"etcd", no_argument, 0, 'e'},
        {"only-etcd", no_argument, 0, 'E'},    {"no-sync-row", no_argument, 0, 'N'},
        {"plain", no_argument, 0, 'P'},        {"curve", no_argument, 0, 'C'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "b:c:p:s:w:eENPCh", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o->bin_dir = optarg; break;
        case 'c': s_parse_clients (optarg, o); break;
        case 'p': o->max_procs = bl_parse_int ("--procs", optarg, 1, 64); break;
        case 's': o->secs = bl_parse_seconds ("--seconds", optarg, false); break;
        case 'w': o->warm = bl_parse_seconds ("--warmup", optarg, true); break;
        case 'e': o->etcd = true; break;
        case 'E': o->etcd = o->only_etcd = true; break;
        case 'N': o->nosync_row = true; break;
        case 'P': o->curve = false; break;
        case 'C': o->plain = false; break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    return -1;
}

/* Finds hs-bus and hs-store unless --only-etcd; without them the hs-store
 * rows are skipped and the run counts as failed. */
static void s_find_hs (run_t *run)
{
    if (run->o->only_etcd) return;
    run->hsbus = bl_find_bin ("hs-bus", run->o->bin_dir);
    run->hsstore = bl_find_bin ("hs-store", run->o->bin_dir);
    if (!run->hsbus || !run->hsstore) {
        fprintf (stderr,
                 "bench-store: cannot find %s (looked in --bin, $HS_BIN, next to "
                 "bench-store); build it first, or use --only-etcd\n",
                 !run->hsbus ? "hs-bus" : "hs-store");
        run->bad++;
    }
}

/* The title of an hs-store table, what its columns mean, and its header. */
static void s_print_hs_intro (const run_t *run, bool nosync, const char *data)
{
    printf ("\n== bench-store: hs-store %s (%s), data dir %s\n",
            nosync ? "--no-sync (NOT durable: commits are not fsynced)"
                   : "durable (default: every group commit fsynced before acks)",
            run->hsstore, data);
    printf ("   each row: C logical clients in K separate processes (own hs_client, own bus\n"
            "   connection each), one Command {OP_APPLY of a new Pod, %zu bytes packed} in flight\n"
            "   per logical client (hs_client_send, wait for the ack, send the next);\n"
            "   %g s warm-up, then %g s measured; ack = send->ack receipt in the client;\n"
            "   cmt>ev = subscriber's realtime at receipt - WatchEvent.committed_at_ns;\n"
            "   snd>ev = receipt - client's realtime at send; both from a separate process\n"
            "   subscribed to ev.pod.; ev gap = events the subscriber missed (stream seq);\n"
            "   store/bus cpu = hs-store's/hs-bus's CPU time (user+system, all threads)\n"
            "   in the measured window, per acked apply.\n",
            run->pod_size, run->o->warm, run->o->secs);
    sl_print_hs_header ();
}

/* Runs and prints the hs-store rows into res, until one fails (or the store
 * dies: its log's tail is shown). */
static void s_hs_rows (run_t *run, const hs_servers_t *sv, rowres_t *res)
{
    const opts_t *o = run->o;
    for (int i = 0; i < o->nclients; i++) {
        row_t row = {.target = TARGET_HS,
                     .row = ++run->rown,
                     .clients = o->clients[i],
                     .procs = run->procs_of[i],
                     .warm_ns = (int64_t)(o->warm * 1e9),
                     .dur_ns = (int64_t)(o->secs * 1e9),
                     .bus = sv->bus,
                     .server_pid = sv->store_pid,
                     .bus_pid = sv->bus_pid};
        if (sl_run_row (run->tmp, &row, &res[i]) < 0 || !bl_alive (sv->store_pid)) {
            if (!bl_alive (sv->store_pid)) {
                bl_tail_log (sv->store_log, 20);
                fprintf (stderr, "bench-store: hs-store died\n");
            }
            run->bad++;
            break;
        }
        sl_print_hs_row (&row, &res[i]);
    }
}

/* Prints the check line: the store's object count (from a worker reading
 * hb.store) against the applies our clients saw acked. */
static void s_hs_print_check (const run_t *run, const hs_servers_t *sv, const rowres_t *res)
{
    /* Each client process applies one readiness pod per row it ran. */
    uint64_t acked = 0;
    int ready_pods = 0;
    for (int i = 0; i < run->o->nclients; i++) {
        acked += res[i].all_ok;
        if (res[i].done) ready_pods += run->procs_of[i];
    }
    row_t chk = {.target = TARGET_CHECK, .bus = sv->bus, .dir = run->tmp};
    bl_group_t *g = bl_group_start (1, sl_worker, &chk);
    int64_t t0;
    bl_result_t cr = {0};
    char *cpath = hs_sprintf ("%s/check", run->tmp);
    if (bl_group_go (g, 10000, 0, &t0) == 0 && bl_group_wait (&g, 10000) == 0 &&
        bl_result_read (cpath, &cr) == 0 && cr.c[0] > 0)
        printf ("   check: hs-store reports %llu objects; our clients saw %llu applies acked "
                "(warm-up included) + %d readiness pods\n",
                (unsigned long long)(cr.c[0] - 1), (unsigned long long)acked, ready_pods);
    else
        printf ("   check: no hb.store heartbeat seen; cannot count the store's objects\n");
    bl_group_wait (&g, 1000);
    bl_result_free (&cr);
    free (cpath);
}

/* One hs-store table (durable, or --no-sync): fresh hs-bus and hs-store, the
 * rows, the check, both stopped. Returns -1 if they did not start. */
static int s_hs_pass (run_t *run, bool nosync)
{
    hs_servers_t sv = {0};
    if (s_start_hs (run->tmp, run->hsbus, run->hsstore, nosync, nosync ? "nosync" : "durable", NULL,
                    &sv) < 0) {
        s_stop_hs (&sv);
        run->bad++;
        return -1;
    }
    rowres_t *res = nosync ? run->nosync : run->hs;
    s_print_hs_intro (run, nosync, sv.data);
    s_hs_rows (run, &sv, res);
    s_hs_print_check (run, &sv, res);
    s_stop_hs (&sv);
    return 0;
}

/* The CURVE comparison: a plaintext and a secured hs-bus + hs-store, both
 * durable, running side by side; each client count runs on the plaintext
 * pair, then on the secured one, so both see the same machine. Clients
 * connect as admin:bench, the store as store. */
static int s_curve_pass (run_t *run)
{
    _cleanup_free_ char *pki = hs_sprintf ("%s/pki", run->tmp);
    static const char *const ids[] = {"store", "admin:bench"};
    bl_pki_make (pki, ids, HS_ARRAY_LEN (ids));
    _cleanup_free_ char *cred = hs_sprintf ("%s/creds/admin-bench.cred", pki);
    hs_servers_t sv[2] = {{0}};
    if (s_start_hs (run->tmp, run->hsbus, run->hsstore, false, "plain", NULL, &sv[0]) < 0 ||
        s_start_hs (run->tmp, run->hsbus, run->hsstore, false, "curve", pki, &sv[1]) < 0) {
        s_stop_hs (&sv[0]);
        s_stop_hs (&sv[1]);
        run->bad++;
        return -1;
    }
    const opts_t *o = run->o;
    printf ("\n== bench-store --curve: durable hs-store behind a plaintext and a CURVE hs-bus\n"
            "   the same rows as above, run alternately on two bus+store pairs that run side\n"
            "   by side (plain, then curve, for each client count); on the CURVE pair the\n"
            "   clients are admin:bench, the store is store, and every command carries the\n"
            "   broker's identity stamp. store/bus cpu per acked apply in the window;\n"
            "   delta = curve applies/s against the plain row just before it.\n");
    printf ("%-6s %7s %5s %12s %7s %9s %9s %10s %10s %8s\n", "mode", "clients", "procs",
            "applies/s", "errors", "ack p50", "ack p99", "store cpu", "bus cpu", "delta");
    for (int i = 0; i < o->nclients; i++) {
        double plain_rate = 0;
        for (int curve = 0; curve < 2; curve++) {
            if (curve)
                hs_bus_use_credential (cred);
            else
                hs_bus_use_insecure ();
            row_t row = {.target = TARGET_HS,
                         .row = ++run->rown,
                         .clients = o->clients[i],
                         .procs = run->procs_of[i],
                         .warm_ns = (int64_t)(o->warm * 1e9),
                         .dur_ns = (int64_t)(o->secs * 1e9),
                         .bus = sv[curve].bus,
                         .server_pid = sv[curve].store_pid,
                         .bus_pid = sv[curve].bus_pid};
            rowres_t r;
            if (sl_run_row (run->tmp, &row, &r) < 0 || !bl_alive (sv[curve].store_pid)) {
                if (!bl_alive (sv[curve].store_pid)) bl_tail_log (sv[curve].store_log, 20);
                run->bad++;
                continue;
            }
            char b[6][32], delta[16] = "";
            if (curve && plain_rate > 0)
                snprintf (delta, sizeof delta, "%+.1f%%", 100.0 * (r.rate / plain_rate - 1));
            if (!curve) plain_rate = r.rate;
            printf ("%-6s %7d %5d %12s %7llu %9s %9s %10s %10s %8s\n", curve ? "curve" : "plain",
                    r.clients, row.procs, bl_fmt_count (r.rate, b[0], 32),
                    (unsigned long long)r.errors, bl_fmt_ns (bl_pct (&r.lat, 50), b[1], 32),
                    bl_fmt_ns (bl_pct (&r.lat, 99), b[2], 32),
                    sl_fmt_cpu_per_op (r.server_cpu_s, r.ok, b[3], 32),
                    sl_fmt_cpu_per_op (r.bus_cpu_s, r.ok, b[4], 32), delta);
            sl_rowres_free (&r);
        }
    }
    hs_bus_use_credential (NULL);
    s_stop_hs (&sv[0]);
    s_stop_hs (&sv[1]);
    return 0;
}

/* The title of an etcd table (with etcd's version), the client it uses,
 * and its header. */
static void s_print_etcd_intro (const run_t *run, int port, bool grpc)
{
    char *ver = NULL;
    int st = sl_http_get (port, "/version", &ver);
    const char *vb = ver && st == 200 ? strstr (ver, "\r\n\r\n") : NULL;
    printf ("\n== bench-store --etcd: etcd %s, single node, its default fsync, fresh data dir\n",
            vb ? vb + 4 : "?");
    free (ver);
    if (grpc)
        printf ("   client: etcd's native gRPC API (etcdserverpb.KV/Put over HTTP/2, h2c), spoken\n"
                "   by our own epoll C client (we cannot link grpc; Debian ships no etcd\n"
                "   `benchmark` tool); one HTTP/2 connection per logical client.\n");
    else
        printf ("   client: etcd's v3 JSON gateway (POST /v3/kv/put, base64 key/value) over\n"
                "   HTTP/1.1 keep-alive, one TCP connection per logical client. The gateway\n"
                "   re-issues each call as gRPC inside etcd: slower than the gRPC rows above.\n");
    printf ("   Same shape as hs-store: C logical clients in K processes, one put in flight\n"
            "   each, a new key per put, %zu-byte value (= our packed Pod); %g s warm-up,\n"
            "   %g s measured; latency = send -> response in the client; etcd cpu = etcd's\n"
            "   CPU time (user+system) in the measured window, per acked put.\n",
            run->pod_size, run->o->warm, run->o->secs);
    sl_print_etcd_header ();
}

/* Runs and prints the etcd rows into res, until one fails (or etcd dies: its
 * log's tail is shown). */
static void s_etcd_rows (run_t *run, int port, pid_t pid, const char *log, bool grpc, rowres_t *res)
{
    const opts_t *o = run->o;
    for (int i = 0; i < o->nclients; i++) {
        row_t row = {.target = TARGET_ETCD,
                     .row = ++run->rown,
                     .clients = o->clients[i],
                     .procs = run->procs_of[i],
                     .warm_ns = (int64_t)(o->warm * 1e9),
                     .dur_ns = (int64_t)(o->secs * 1e9),
                     .etcd_port = port,
                     .grpc = grpc,
                     .value_size = run->pod_size,
                     .server_pid = pid,
                     .bus_pid = -1};
        if (sl_run_row (run->tmp, &row, &res[i]) < 0 || !bl_alive (pid)) {
            if (!bl_alive (pid)) bl_tail_log (log, 20);
            run->bad++;
            break;
        }
        sl_print_etcd_row (&row, &res[i]);
    }
}

/* Prints the check line: etcd's key count under /registry/pods/ against the
 * puts our clients saw acked. */
static void s_etcd_print_check (const run_t *run, int port, const rowres_t *res)
{
    uint64_t acked = 0;
    for (int i = 0; i < run->o->nclients; i++) acked += res[i].all_ok;
    char *body = NULL;
    /* range [/registry/pods/, /registry/pods0), base64 as the gateway wants */
    int st =
        sl_http_post (port, "/v3/kv/range",
                      "{\"key\":\"L3JlZ2lzdHJ5L3BvZHMv\",\"range_end\":\"L3JlZ2lzdHJ5L3BvZHMw\","
                      "\"count_only\":true}",
                      &body);
    const char *cnt = body && st == 200 ? strstr (body, "\"count\":\"") : NULL;
    printf ("   check: etcd holds %lld keys under /registry/pods/; our clients saw %llu puts "
            "acked (warm-up included)\n",
            cnt ? atoll (cnt + 9) : -1LL, (unsigned long long)acked);
    free (body);
}

/* One etcd table (gRPC, or JSON): a fresh etcd, the rows, the check; etcd
 * stopped and its data removed. Returns -1 if etcd did not start. */
static int s_etcd_pass (run_t *run, bool grpc)
{
    rowres_t *res = grpc ? run->grpc : run->json;
    int port;
    pid_t pid;
    char *log = NULL;
    if (sl_start_etcd (run->tmp, &port, &pid, &log) < 0) {
        run->bad++;
        return -1;
    }
    s_print_etcd_intro (run, port, grpc);
    s_etcd_rows (run, port, pid, log, grpc, res);
    s_etcd_print_check (run, port, res);
    bl_stop (pid);
    /* The next pass starts from an empty data dir. */
    char *data = hs_sprintf ("%s/etcd-data", run->tmp);
    char *argv_rm[] = {"/bin/rm", "-rf", "--", data, NULL};
    pid_t rm = bl_spawn (argv_rm, NULL);
    bl_stop (rm);
    free (data);
    free (log);
    return 0;
}

/* The summary table: hs-store's rate against the faster of etcd's APIs at
 * each row; "-" where a row did not run. */
static void s_print_summary (const run_t *run)
{
    printf ("\n== summary: durable writes/s, same machine, same run, same client shape\n"
            "   (ratio = hs-store / the faster of etcd's two APIs at that row)\n");
    printf ("%7s %12s %12s %12s %7s %11s %11s %11s\n", "clients", "hs-store", "etcd gRPC",
            "etcd JSON", "ratio", "hs p99", "gRPC p99", "JSON p99");
    for (int i = 0; i < run->o->nclients; i++) {
        char b[6][32], ratio[16] = "-";
        const rowres_t *h = &run->hs[i], *g = &run->grpc[i], *j = &run->json[i];
        double best = 0;
        if (g->done && g->rate > best) best = g->rate;
        if (j->done && j->rate > best) best = j->rate;
        if (h->done && best > 0) snprintf (ratio, sizeof ratio, "%.1fx", h->rate / best);
        printf ("%7d %12s %12s %12s %7s %11s %11s %11s\n", run->o->clients[i],
                h->done ? bl_fmt_count (h->rate, b[0], 32) : "-",
                g->done ? bl_fmt_count (g->rate, b[1], 32) : "-",
                j->done ? bl_fmt_count (j->rate, b[2], 32) : "-", ratio,
                h->done ? bl_fmt_ns (bl_pct (&h->lat, 99), b[3], 32) : "-",
                g->done ? bl_fmt_ns (bl_pct (&g->lat, 99), b[4], 32) : "-",
                j->done ? bl_fmt_ns (bl_pct (&j->lat, 99), b[5], 32) : "-");
    }
}

/* Frees the results and paths; the temp dir goes at exit. */
static void s_run_free (run_t *run)
{
    for (int i = 0; i < 16; i++) {
        sl_rowres_free (&run->hs[i]);
        sl_rowres_free (&run->grpc[i]);
        sl_rowres_free (&run->nosync[i]);
        sl_rowres_free (&run->json[i]);
    }
    free (run->hsbus);
    free (run->hsstore);
    free (run->tmp);
}

int main (int argc, char **argv)
{
    bl_init ("bench-store");
    /* the workers' "INSECURE BUS" warnings would break up the tables */
    hs_log_set_level (HS_LOG_ERROR);
    opts_t o;
    int rc = s_parse_args (argc, argv, &o);
    if (rc >= 0) return rc;
    run_t run = {.o = &o};
    run.tmp = bl_tmpdir ("store");
    run.pod_size = sl_pod_size ();
    for (int i = 0; i < o.nclients; i++)
        run.procs_of[i] = o.clients[i] < o.max_procs ? o.clients[i] : o.max_procs;

    s_find_hs (&run);
    /* The durable table, then (--no-sync-row) the --no-sync one. */
    for (int pass = 0; o.plain && run.hsbus && run.hsstore && pass < (o.nosync_row ? 2 : 1); pass++)
        if (s_hs_pass (&run, pass == 1) < 0) break;
    if (o.curve && !o.only_etcd && run.hsbus && run.hsstore) s_curve_pass (&run);
    /* gRPC, then the JSON gateway. */
    for (int pass = 0; o.etcd && pass < 2; pass++)
        if (s_etcd_pass (&run, pass == 0) < 0) break;
    if (!o.only_etcd && o.etcd) s_print_summary (&run);

    s_run_free (&run);
    return run.bad ? 1 : 0;
}
