/*  bench_bus.c: bench-bus, message throughput through a real hs-bus.
 *
 *  Starts hs-bus on a free loopback port pair (and an ipc:// directory), then
 *  for each row forks P publisher processes and one subscriber process, each
 *  with its own bus connection (hs_bus_connect + hs_bus_join, so nothing is
 *  lost for want of a connection). Every publisher sends a fixed count of
 *  two-frame messages (topic "bench.x", a valid hs.Envelope body of the given
 *  size) as fast as ZeroMQ takes them; the subscriber counts what arrives.
 *  hs-bus's own heartbeat (hb.bus.*, forwarded_msgs) tells where the lost
 *  messages went: publisher -> bus (publisher's PUB queue full) or bus ->
 *  subscriber (the broker's XPUB queue full). Prints one table.
 */
#include "benchlib.h"
#include "hs_bus.h"
#include "hs_log.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define TOPIC       "bench.x"
#define TOPIC_CURVE "ev.bench.x" /* the comparison's: one the store identity may publish */
static const char *s_topic = TOPIC;

typedef struct {
    const char *bus;  /* address for hs_bus_connect */
    int pubs;         /* publishers in this row */
    size_t size;      /* envelope bytes */
    uint64_t count;   /* per publisher */
    const char *dir;  /* where workers write results */
    int idle_ms;      /* subscriber: stop after this long without a message */
    int64_t limit_ns; /* hard bound on a row's duration */
    double rate;      /* offered msgs/s over all publishers; 0: flood */
    int batch;        /* publish in bus batches of this many; 0: one by one */
} row_t;

/* Counters in the result files. */
enum { R_SENT, R_RECV, R_T_FIRST, R_T_LAST, R_FWD0, R_FWD1, R_T_START, R_T_END, R_CPU_NS };

/* CPU time of this process, every thread (ZeroMQ's I/O thread included). */
static uint64_t s_cpu_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A valid Envelope (a Ping padded with its nonce) of exactly `size` bytes. */
static uint8_t *s_make_body (size_t size, size_t *ret_len)
{
    Hs__Envelope env = HS__ENVELOPE__INIT;
    Hs__Ping ping = HS__PING__INIT;
    env.sender = "bench-bus/pub";
    env.sender_seq = 1;
    env.sent_at_ns = hs_now_ns ();
    env.body_case = HS__ENVELOPE__BODY_PING;
    env.ping = &ping;
    char *nonce = hs_calloc (1, size + 1);
    ping.nonce = nonce;
    size_t len = 0;
    /* The nonce's length prefix grows at 128; search for the exact fit. */
    for (size_t k = 0; k <= size; k++) {
        memset (nonce, 'x', k);
        nonce[k] = '\0';
        len = hs__envelope__get_packed_size (&env);
        if (len >= size) break;
    }
    uint8_t *buf = hs_malloc (len);
    hs__envelope__pack (&env, buf);
    free (nonce);
    *ret_len = len;
    return buf;
}

static int s_publisher (row_t *row, int i)
{
    hs_bus_t *bus = NULL;
    char inst[32];
    snprintf (inst, sizeof inst, "pub%d-%d", i, (int)getpid ());
    int r = hs_bus_connect (row->bus, "bench-bus", inst, &bus);
    if (r < 0) bl_worker_fail ("publisher: cannot connect to %s: %s", row->bus, strerror (-r));
    if (hs_bus_join (bus, 10000) < 0)
        bl_worker_fail ("publisher: no hs-bus answered at %s within 10 s", row->bus);
    size_t len;
    uint8_t *body = s_make_body (row->size, &len);
    int64_t t0 = bl_worker_ready ();
    bl_sleep_until (t0);

    bl_result_t res = {0};
    uint64_t cpu0 = s_cpu_ns ();
    res.c[R_T_START] = (uint64_t)hs_mono_ns ();
    /* Paced: batches of 100 on a schedule, so the offered rate is exact. */
    double per_ns = row->rate > 0 ? row->rate / row->pubs / 1e9 : 0;
    int batch = row->batch;
    for (uint64_t n = 0; n < row->count; n++) {
        if (batch > 1 && n % (uint64_t)batch == 0) hs_bus_batch_begin (bus);
        if (hs_bus_publish_raw (bus, s_topic, body, len) == 0) res.c[R_SENT]++;
        if (batch > 1 && (n % (uint64_t)batch == (uint64_t)batch - 1 || n + 1 == row->count))
            hs_bus_batch_end (bus);
        if (per_ns > 0 && n % 100 == 99) bl_sleep_until (t0 + (int64_t)((double)(n + 1) / per_ns));
        if ((n & 0xffff) == 0 && hs_mono_ns () - t0 > row->limit_ns) break;
    }
    res.c[R_T_END] = (uint64_t)hs_mono_ns ();
    free (body);
    /* Give the queued tail time to leave before close: the socket's linger
     * (200 ms) would otherwise discard it, which says nothing about the bus. */
    usleep (1000000);
    res.c[R_CPU_NS] = s_cpu_ns () - cpu0;
    hs_bus_destroy (&bus);
    char *path = hs_sprintf ("%s/pub-%d", row->dir, i);
    r = bl_result_write (path, &res);
    free (path);
    return r < 0;
}

/* Reads forwarded_msgs from an hs-bus heartbeat; false if it is not one. */
static bool s_forwarded (zmq_msg_t *body, uint64_t *ret)
{
    Hs__Envelope *env =
        hs__envelope__unpack (NULL, zmq_msg_size (body), (const uint8_t *)zmq_msg_data (body));
    if (!env) return false;
    bool ok = false;
    if (env->body_case == HS__ENVELOPE__BODY_HEARTBEAT)
        for (size_t i = 0; i < env->heartbeat->n_counters; i++)
            if (strcmp (env->heartbeat->counters[i]->name, "forwarded_msgs") == 0) {
                *ret = env->heartbeat->counters[i]->value;
                ok = true;
            }
    hs_pb_free (env);
    return ok;
}

static int s_subscriber (row_t *row, int i)
{
    (void)i;
    hs_bus_t *bus = NULL;
    int r = hs_bus_connect (row->bus, "bench-bus", NULL, &bus);
    if (r < 0) bl_worker_fail ("subscriber: cannot connect to %s: %s", row->bus, strerror (-r));
    hs_bus_subscribe (bus, s_topic);
    hs_bus_subscribe (bus, "hb.bus.");
    if (hs_bus_join (bus, 10000) < 0)
        bl_worker_fail ("subscriber: no hs-bus answered at %s within 10 s", row->bus);
    void *sock = hs_bus_sub_socket (bus);
    int64_t t0 = bl_worker_ready ();
    uint64_t cpu0 = s_cpu_ns ();
    /* The start signal came at least one heartbeat interval before t0, after
     * every worker had joined: the first heartbeat after it is our baseline. */
    int64_t go_seen = hs_mono_ns ();
    bl_result_t res = {0};
    bool have_fwd0 = false, have_fwd1 = false;
    int64_t last_msg = 0, idle_since = 0;
    int64_t hard_end = t0 + row->limit_ns + 5000000000LL;
    const size_t topic_len = strlen (s_topic);
    for (;;) {
        int64_t now = hs_mono_ns ();
        if (now > hard_end) break;
        if (res.c[R_RECV] > 0 && !idle_since && now - last_msg > (int64_t)row->idle_ms * 1000000)
            idle_since = now;
        if (idle_since && (have_fwd1 || now - idle_since > 2500000000LL)) break;
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, 50) <= 0) continue;
        for (;;) {
            zmq_msg_t topic, body;
            zmq_msg_init (&topic);
            if (zmq_msg_recv (&topic, sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close (&topic);
                break;
            }
            zmq_msg_init (&body);
            bool two = zmq_msg_more (&topic) && zmq_msg_recv (&body, sock, 0) >= 0;
            if (two && zmq_msg_size (&topic) == topic_len &&
                memcmp (zmq_msg_data (&topic), s_topic, topic_len) == 0) {
                int64_t t = hs_mono_ns ();
                if (!res.c[R_RECV]) res.c[R_T_FIRST] = (uint64_t)t;
                res.c[R_RECV]++;
                last_msg = t;
                res.c[R_T_LAST] = (uint64_t)t;
            } else if (two) {
                uint64_t fwd;
                int64_t t = hs_mono_ns ();
                if (s_forwarded (&body, &fwd)) {
                    if (!have_fwd0 && t >= go_seen && t < t0 && res.c[R_RECV] == 0) {
                        res.c[R_FWD0] = fwd;
                        have_fwd0 = true;
                    } else if (have_fwd0 && idle_since && t >= idle_since) {
                        res.c[R_FWD1] = fwd;
                        have_fwd1 = true;
                    }
                }
            }
            while (zmq_msg_more (&body)) { /* drain a malformed tail */
                zmq_msg_close (&body);
                zmq_msg_init (&body);
                if (zmq_msg_recv (&body, sock, 0) < 0) break;
            }
            zmq_msg_close (&topic);
            zmq_msg_close (&body);
        }
    }
    if (!have_fwd1) res.c[R_FWD0] = res.c[R_FWD1] = 0;
    res.c[R_CPU_NS] = s_cpu_ns () - cpu0;
    hs_bus_destroy (&bus);
    char *path = hs_sprintf ("%s/sub", row->dir);
    r = bl_result_write (path, &res);
    free (path);
    return r < 0;
}

static int s_worker (void *arg, int i)
{
    row_t *row = arg;
    return i == 0 ? s_subscriber (row, i) : s_publisher (row, i - 1);
}

static void s_print_header (void)
{
    printf ("%-9s %4s %6s %5s %10s %12s %12s %10s %7s %14s %9s %14s\n", "transport", "pubs",
            "bytes", "batch", "offered/s", "sent", "received", "lost", "lost%", "recv msgs/s",
            "MB/s", "lost pub/bus");
}

/* What a row measured, for the CURVE comparison's own table. */
typedef struct {
    uint64_t sent, recv;
    double rate, lost_pct;
    double pub_cpu_ns, sub_cpu_ns; /* CPU of all publishers / the subscriber */
} row_out_t;

/* Runs a row and prints its line, or fills *out instead (out non-NULL). */
static int s_run_row (const char *tmp, int n, const char *label, row_t *row, row_out_t *out)
{
    char *dir = hs_sprintf ("%s/row%d", tmp, n);
    if (mkdir (dir, 0700) < 0) bl_die ("mkdir %s: %s", dir, strerror (errno));
    row->dir = dir;
    bl_group_t *g = bl_group_start (row->pubs + 1, s_worker, row);
    int64_t t0;
    if (bl_group_go (g, 15000, 1200, &t0) < 0) {
        bl_group_wait (&g, 2000);
        free (dir);
        return -1;
    }
    int failed = bl_group_wait (&g, (int)(row->limit_ns / 1000000) + 15000);
    if (failed) fprintf (stderr, "bench-bus: %d worker(s) failed in row %s\n", failed, label);

    uint64_t sent = 0, t_start = UINT64_MAX, t_end = 0, pub_cpu = 0;
    for (int i = 0; i < row->pubs; i++) {
        char *path = hs_sprintf ("%s/pub-%d", dir, i);
        bl_result_t r;
        if (bl_result_read (path, &r) == 0) {
            sent += r.c[R_SENT];
            pub_cpu += r.c[R_CPU_NS];
            if (r.c[R_T_START] < t_start) t_start = r.c[R_T_START];
            if (r.c[R_T_END] > t_end) t_end = r.c[R_T_END];
        }
        bl_result_free (&r);
        free (path);
    }
    char *path = hs_sprintf ("%s/sub", dir);
    bl_result_t s;
    int rr = bl_result_read (path, &s);
    free (path);
    free (dir);
    if (rr < 0) {
        fprintf (stderr, "bench-bus: row %s: no subscriber result\n", label);
        return -1;
    }
    uint64_t recv = s.c[R_RECV];
    double secs = (double)(s.c[R_T_LAST] - s.c[R_T_FIRST]) / 1e9;
    double rate = secs > 0 ? (double)recv / secs : 0;
    double mbs = rate * (double)(row->size + strlen (s_topic)) / 1e6;
    uint64_t lost = sent > recv ? sent - recv : 0;
    if (out) {
        *out = (row_out_t){sent,
                           recv,
                           rate,
                           sent ? 100.0 * (double)lost / (double)sent : 0.0,
                           (double)pub_cpu,
                           (double)s.c[R_CPU_NS]};
        bl_result_free (&s);
        return 0;
    }
    char split[40] = "?";
    if (s.c[R_FWD1] >= s.c[R_FWD0] && s.c[R_FWD1]) {
        uint64_t fwd = s.c[R_FWD1] - s.c[R_FWD0];
        uint64_t pub_lost = sent > fwd ? sent - fwd : 0;
        uint64_t bus_lost = fwd > recv ? fwd - recv : 0;
        snprintf (split, sizeof split, "%llu/%llu", (unsigned long long)pub_lost,
                  (unsigned long long)bus_lost);
    }
    char b1[32], b2[32], b3[32], b4[32], b5[32] = "flood";
    if (row->rate > 0) bl_fmt_count (row->rate, b5, sizeof b5);
    char b6[16] = "-";
    if (row->batch > 1) snprintf (b6, sizeof b6, "%d", row->batch);
    printf ("%-9s %4d %6zu %5s %10s %12s %12s %10s %6.2f%% %14s %9.1f %14s\n", label, row->pubs,
            row->size, b6, b5, bl_fmt_count ((double)sent, b1, sizeof b1),
            bl_fmt_count ((double)recv, b2, sizeof b2), bl_fmt_count ((double)lost, b3, sizeof b3),
            sent ? 100.0 * (double)lost / (double)sent : 0.0, bl_fmt_count (rate, b4, sizeof b4),
            mbs, split);
    bl_result_free (&s);
    (void)t_start;
    (void)t_end;
    return 0;
}

/* ------------------------------------------------------------------ main */

/* What the command line asks for. */
typedef struct {
    const char *bin_dir;   /* --bin */
    const char *given_bus; /* --bus: a running hs-bus; NULL: we start one */
    int64_t count;         /* --count: flood rows, messages per publisher */
    double secs;           /* --seconds: paced rows, seconds of offered load */
    bool ipc;              /* the ipc:// rows: off with --no-ipc and with --bus */
    bool plain_rows;       /* the main table (off with --curve) */
    bool curve_rows;       /* the CURVE comparison (off with --plain and with --bus) */
} opts_t;

/* The hs-bus the rows go through. */
typedef struct {
    char *tmp;        /* our temp dir: row results, hs-bus's ipc sockets and log */
    char *log;        /* hs-bus's log */
    char *hsbus;      /* its binary; NULL with --bus */
    const char *desc; /* for the title: the binary, or "given" */
    char tcp[64];     /* tcp address for hs_bus_connect */
    char ipc[600];    /* ipc:// address; "" without the ipc rows */
    pid_t pid;        /* hs-bus (plaintext), 0 with --bus */
    /* the CURVE comparison's: a second hs-bus with --pki, and a credential */
    char curve_tcp[64];
    pid_t curve_pid;
    char *pki, *cred;
} bus_t;

/* One line of the table. */
typedef struct {
    const char *label;
    bool ipc;
    int pubs;
    size_t size;
    double rate; /* offered msgs/s over all publishers; 0: flood */
    int batch;
} row_spec_t;

static const row_spec_t s_rows[] = {
    /* clang-format off */
    {"tcp", false, 1, 64, 0, 0},
    {"tcp", false, 2, 64, 0, 0},
    {"tcp", false, 1, 1024, 0, 0},
    {"ipc", true, 1, 64, 0, 0},
    {"tcp", false, 1, 64, 250e3, 0},
    {"tcp", false, 1, 64, 500e3, 0},
    {"tcp", false, 1, 64, 750e3, 0},
    {"tcp", false, 1, 64, 1e6, 0},
    {"tcp", false, 2, 64, 500e3, 0},
    {"tcp", false, 2, 64, 1e6, 0},
    {"ipc", true, 1, 64, 500e3, 0},
    {"ipc", true, 1, 64, 1e6, 0},
    {"ipc", true, 2, 64, 1e6, 0},
    {"tcp", false, 1, 1024, 250e3, 0},
    {"tcp", false, 1, 64, 0, 100},
    {"tcp", false, 1, 64, 1e6, 100},
    {"tcp", false, 1, 64, 1.5e6, 100},
    {"tcp", false, 2, 64, 1e6, 100},
    {"tcp", false, 2, 64, 1.5e6, 100},
    /* clang-format on */
};

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: bench-bus [--bin DIR] [--bus HOST:PORT] [--count N] [--seconds S] [--no-ipc]\n"
             "                 [--plain | --curve]\n"
             "  --bin DIR     where hs-bus is (default: $HS_BIN, then next to bench-bus)\n"
             "  --bus ADDR    use this running hs-bus instead of starting one (tcp rows only)\n"
             "  --count N     flood rows: messages per publisher (default 2000000)\n"
             "  --seconds S   paced rows: seconds of offered load (default 3)\n"
             "  --no-ipc      skip the ipc:// rows\n"
             "  --plain       only the main table (a plaintext hs-bus)\n"
             "  --curve       only the CURVE comparison: a plaintext and a CURVE hs-bus\n"
             "                side by side, rows interleaved, CPU per message\n");
}

/* Fills o from the command line (dies on a bad value). Returns -1 to run the
 * benchmark, or the exit code: 0 after --help, 2 after an unknown flag. */
static int s_parse_args (int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.count = 2000000, .secs = 3, .ipc = true, .plain_rows = true, .curve_rows = true};
    static struct option opts[] = {{"bin", required_argument, 0, 'b'},
                                   {"bus", required_argument, 0, 'B'},
                                   {"count", required_argument, 0, 'n'},
                                   {"seconds", required_argument, 0, 's'},
                                   {"no-ipc", no_argument, 0, 'I'},
                                   {"plain", no_argument, 0, 'P'},
                                   {"curve", no_argument, 0, 'C'},
                                   {"help", no_argument, 0, 'h'},
                                   {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "b:B:n:IPCs:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o->bin_dir = optarg; break;
        case 'B': o->given_bus = optarg; break;
        case 'n':
            if (hs_parse_i64 (optarg, &o->count) < 0 || o->count <= 0)
                bl_die ("--count: %s", optarg);
            break;
        case 'I': o->ipc = false; break;
        case 'P': o->curve_rows = false; break;
        case 'C': o->plain_rows = false; break;
        case 's': o->secs = bl_parse_seconds ("--seconds", optarg, false); break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    return -1;
}

/* Makes the temp dir and starts hs-bus on a free port pair (with --ipc in the
 * temp dir unless o->ipc is off), or takes the --bus one, which turns the
 * ipc rows off. Dies if hs-bus does not start. */
static void s_start_bus (opts_t *o, bus_t *bus)
{
    *bus = (bus_t){0};
    bus->tmp = bl_tmpdir ("bus");
    bus->log = hs_sprintf ("%s/hs-bus.log", bus->tmp);
    if (o->given_bus) {
        snprintf (bus->tcp, sizeof bus->tcp, "%s", o->given_bus);
        o->ipc = false;
        bus->desc = "given";
        return;
    }
    bus->hsbus = bl_find_bin ("hs-bus", o->bin_dir);
    if (!bus->hsbus) bl_die ("cannot find hs-bus (use --bin DIR or HS_BIN)");
    int port = bl_free_port (true);
    char port_s[16];
    snprintf (port_s, sizeof port_s, "%d", port);
    char *argv_bus[] = {bus->hsbus,   "--bind", "127.0.0.1", "--port", port_s,
                        "--insecure", NULL,     NULL,        NULL};
    if (o->ipc) {
        argv_bus[6] = "--ipc";
        argv_bus[7] = bus->tmp;
        snprintf (bus->ipc, sizeof bus->ipc, "ipc://%s", bus->tmp);
    }
    pid_t pid = bl_spawn (argv_bus, bus->log);
    if (bl_wait_tcp (port + 1, 5000) < 0 || !bl_alive (pid)) {
        bl_tail_log (bus->log, 20);
        bl_die ("hs-bus did not start");
    }
    snprintf (bus->tcp, sizeof bus->tcp, "127.0.0.1:%d", port);
    bus->desc = bus->hsbus;
    bus->pid = pid;
    if (!o->curve_rows) return;
    /* the secured one: a PKI of our own; every worker connects as "store",
     * which may publish ev.* (TOPIC_CURVE) */
    bus->pki = hs_sprintf ("%s/pki", bus->tmp);
    static const char *const ids[] = {"store"};
    bl_pki_make (bus->pki, ids, 1);
    bus->cred = hs_sprintf ("%s/creds/store.cred", bus->pki);
    port = bl_free_port (true);
    snprintf (port_s, sizeof port_s, "%d", port);
    _cleanup_free_ char *log = hs_sprintf ("%s/hs-bus-curve.log", bus->tmp);
    char *argv_curve[] = {bus->hsbus, "--bind", "127.0.0.1", "--port",
                          port_s,     "--pki",  bus->pki,    NULL};
    bus->curve_pid = bl_spawn (argv_curve, log);
    if (bl_wait_tcp (port + 1, 10000) < 0 || !bl_alive (bus->curve_pid)) {
        bl_tail_log (log, 20);
        bl_die ("hs-bus --pki did not start");
    }
    snprintf (bus->curve_tcp, sizeof bus->curve_tcp, "127.0.0.1:%d", port);
}

/* The title, what the columns mean, and the table's header. */
static void s_print_intro (const opts_t *o, const bus_t *bus)
{
    printf ("== bench-bus: throughput through hs-bus (%s)\n", bus->desc);
    printf ("   each publisher and the subscriber is its own process with its own bus connection;\n"
            "   publishers send (topic \"%s\" + body) either %lld messages each as fast as\n"
            "   they can (offered = flood: ZeroMQ PUB drops at its HWM, so this shows how\n"
            "   much a burst loses), or paced to an offered total rate for %.0f s;\n"
            "   bytes = body size (a valid hs.Envelope); default HWM %d per socket;\n"
            "   recv msgs/s = received / (last - first receive time); MB/s counts topic+body;\n"
            "   lost pub/bus = lost before hs-bus (publisher queue) / in hs-bus->subscriber,\n"
            "   from hs-bus's forwarded_msgs heartbeat counter; batch = the publishers send\n"
            "   bus batches of that many messages (hs_bus_batch_begin/end, as hs-store and\n"
            "   the client library do), which hs-bus forwards one by one; - = one by one.\n",
            TOPIC, (long long)o->count, o->secs, HS_BUS_HWM);
    s_print_header ();
}

/* Runs and prints every row of s_rows (the ipc ones only with o->ipc).
 * Returns the number of rows that failed. */
static int s_run_rows (const opts_t *o, const bus_t *bus)
{
    int bad = 0;
    for (size_t i = 0; i < HS_ARRAY_LEN (s_rows); i++) {
        const row_spec_t *spec = &s_rows[i];
        if (spec->ipc && !o->ipc) continue;
        /* Paced rows send what the rate asks for over --seconds; flood rows --count. */
        uint64_t count =
            spec->rate > 0 ? (uint64_t)(spec->rate * o->secs / spec->pubs) : (uint64_t)o->count;
        row_t row = {
            .bus = spec->ipc ? bus->ipc : bus->tcp,
            .pubs = spec->pubs,
            .size = spec->size,
            .count = count,
            .idle_ms = 1000,
            .limit_ns = 60000000000LL,
            .rate = spec->rate,
            .batch = spec->batch,
        };
        if (s_run_row (bus->tmp, (int)i, spec->label, &row, NULL) < 0) bad++;
    }
    return bad;
}

/* ------------------------------------------------------------ CURVE vs plain */

typedef struct {
    int pubs;
    size_t size;
    double rate; /* 0: flood */
    int batch;
} cmp_spec_t;

static const cmp_spec_t s_cmp_rows[] = {
    /* clang-format off */
    {1, 200, 50e3, 0},
    {1, 200, 100e3, 0},
    {1, 200, 100e3, 64},
    {1, 2000, 50e3, 0},
    {2, 200, 100e3, 0},
    {1, 200, 0, 0},
    /* clang-format on */
};

/* The same rows through a plaintext and a CURVE hs-bus, alternating (plain,
 * curve, plain, curve) so both see the same machine; CPU per delivered
 * message for hs-bus (its whole process), the publishers and the
 * subscriber (each process, ZeroMQ's I/O thread included). */
static int s_run_compare (const opts_t *o, const bus_t *bus)
{
    printf ("\n== bench-bus --curve: plaintext vs CURVE hs-bus, rows interleaved\n"
            "   topic \"%s\", every worker connected as identity \"store\" on the CURVE bus;\n"
            "   us/msg = CPU microseconds per delivered message: hs-bus (whole process, from\n"
            "   before the workers join to after they leave), all publishers together, the\n"
            "   subscriber; paced rows offer the rate for %.0f s, flood rows %lld msgs.\n",
            TOPIC_CURVE, o->secs, (long long)o->count / 4);
    printf ("%-6s %4s %6s %5s %10s %12s %7s %12s %9s %9s %9s\n", "mode", "pubs", "bytes", "batch",
            "offered/s", "received", "lost%", "recv msgs/s", "bus us", "pub us", "sub us");
    s_topic = TOPIC_CURVE;
    int bad = 0, n = 1000;
    for (size_t i = 0; i < HS_ARRAY_LEN (s_cmp_rows); i++) {
        const cmp_spec_t *c = &s_cmp_rows[i];
        for (int rep = 0; rep < 2; rep++) {
            for (int curve = 0; curve < 2; curve++) {
                uint64_t count =
                    c->rate > 0 ? (uint64_t)(c->rate * o->secs / c->pubs) : (uint64_t)o->count / 4;
                row_t row = {.bus = curve ? bus->curve_tcp : bus->tcp,
                             .pubs = c->pubs,
                             .size = c->size,
                             .count = count,
                             .idle_ms = 1000,
                             .limit_ns = 60000000000LL,
                             .rate = c->rate,
                             .batch = c->batch};
                if (curve)
                    hs_bus_use_credential (bus->cred);
                else
                    hs_bus_use_insecure ();
                pid_t bpid = curve ? bus->curve_pid : bus->pid;
                double cpu0 = bl_cpu_s (bpid);
                row_out_t out;
                if (s_run_row (bus->tmp, n++, curve ? "curve" : "plain", &row, &out) < 0) {
                    bad++;
                    continue;
                }
                double bus_cpu = bl_cpu_s (bpid) - cpu0;
                double per = out.recv ? 1.0 / (double)out.recv : 0;
                char b1[32], b2[32], b3[32] = "flood", b4[16] = "-";
                if (c->rate > 0) bl_fmt_count (c->rate, b3, sizeof b3);
                if (c->batch > 1) snprintf (b4, sizeof b4, "%d", c->batch);
                printf ("%-6s %4d %6zu %5s %10s %12s %6.2f%% %12s %9.2f %9.2f %9.2f\n",
                        curve ? "curve" : "plain", c->pubs, c->size, b4, b3,
                        bl_fmt_count ((double)out.recv, b1, sizeof b1), out.lost_pct,
                        bl_fmt_count (out.rate, b2, sizeof b2), bus_cpu * 1e6 * per,
                        out.pub_cpu_ns / 1e3 * (out.sent ? 1.0 / (double)out.sent : 0),
                        out.sub_cpu_ns / 1e3 * per);
            }
        }
    }
    hs_bus_use_credential (NULL);
    s_topic = TOPIC;
    return bad;
}

/* Frees what s_start_bus allocated; hs-bus and the temp dir go at exit. */
static void s_bus_free (bus_t *bus)
{
    free (bus->hsbus);
    free (bus->log);
    free (bus->tmp);
    free (bus->pki);
    free (bus->cred);
}

int main (int argc, char **argv)
{
    bl_init ("bench-bus");
    /* the workers' "INSECURE BUS" warnings would break up the tables */
    hs_log_set_level (HS_LOG_ERROR);
    opts_t o;
    int rc = s_parse_args (argc, argv, &o);
    if (rc >= 0) return rc;
    bus_t bus;
    if (o.given_bus) o.curve_rows = false;
    s_start_bus (&o, &bus);
    int bad = 0;
    if (o.plain_rows) {
        s_print_intro (&o, &bus);
        bad += s_run_rows (&o, &bus);
    }
    if (o.curve_rows) bad += s_run_compare (&o, &bus);
    s_bus_free (&bus);
    return bad ? 1 : 0;
}
