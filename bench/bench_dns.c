/*  bench_dns.c: bench-dns, how fast hs-dns answers one client on loopback,
 *  with dnsmasq serving the same names as the peer in the same run.
 *
 *  Spawns hs-bus, hs-store (--no-sync), hs-dns (--listen 127.0.0.1:P) and
 *  dnsmasq (--no-resolv --no-hosts --local=/<domain>/ and one --host-record
 *  per Service, so it answers the same names from memory and NXDOMAIN for
 *  the rest of the zone). Applies --services Services (svc-<i>.bench, with
 *  clusterIPs 10.96.1.x..) through hs_client and waits until hs-dns answers
 *  the last one.
 *
 *  Each row: one client process, one UDP socket, for --seconds per server
 *  (after a 0.3 s warm-up that is not counted), in --rounds slices in which
 *  hs-dns and dnsmasq take turns, so a load that changes during the run
 *  (a shared machine) weighs on both alike. It keeps `window` queries in flight
 *  (1: closed loop, each query sent when the last was answered, so q/s is
 *  1 / latency; 16: the client pipelines), cycling over the names; a query
 *  unanswered for 1 s counts as lost. Latency: send to receive of the
 *  answer (CLOCK_MONOTONIC). q/s: answers / window. srv CPU: the server's
 *  user+system CPU time over the row's wall time. Rows for A of known
 *  names and for NXDOMAIN names of the zone, against hs-dns and dnsmasq.
 *  No pass/fail: a table.
 */
#include "benchlib.h"
#include "hs_client.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MS 1000000LL

typedef struct {
    int services;
    double seconds;
    int rounds;
    char *bin_dir;
} s_opts_t;

typedef struct {
    uint8_t pkt[300];
    size_t len;
} s_q_t;

typedef struct {
    double qps;
    uint64_t answered, lost, wrong;
    bl_samples_t lat;
    double cpu_pct;
} s_row_t;

/* A query for name, type A, RD, no EDNS; the ID is set at send. */
static void s_query (s_q_t *q, const char *name)
{
    memset (q->pkt, 0, 12);
    q->pkt[2] = 0x01; /* RD */
    q->pkt[5] = 1;    /* one question */
    size_t n = 12;
    const char *p = name;
    while (*p) {
        const char *dot = strchr (p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen (p);
        q->pkt[n++] = (uint8_t)l;
        memcpy (q->pkt + n, p, l);
        n += l;
        p += l + (dot ? 1 : 0);
    }
    q->pkt[n++] = 0;
    q->pkt[n++] = 0;
    q->pkt[n++] = 1; /* A */
    q->pkt[n++] = 0;
    q->pkt[n++] = 1; /* IN */
    q->len = n;
}

static int s_socket (int port)
{
    int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    a.sin_addr.s_addr = htonl (0x7f000001);
    if (fd < 0 || connect (fd, (struct sockaddr *)&a, sizeof a) < 0) bl_die ("UDP socket: %m");
    int big = 4 << 20;
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    return fd;
}

/* One query, waiting up to timeout_ms: its rcode, or -1. */
static int s_ask (int port, const char *name, int timeout_ms)
{
    int fd = s_socket (port);
    s_q_t q;
    s_query (&q, name);
    q.pkt[0] = 0x12;
    q.pkt[1] = 0x34;
    int rc = -1;
    if (send (fd, q.pkt, q.len, 0) == (ssize_t)q.len) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint8_t r[1500];
        if (poll (&pfd, 1, timeout_ms) == 1) {
            ssize_t n = recv (fd, r, sizeof r, 0);
            if (n >= 12 && r[0] == 0x12 && r[1] == 0x34) rc = r[3] & 0x0f;
        }
    }
    close (fd);
    return rc;
}

/* Runs the client for secs against port: see the banner. */
static void s_run (int port, pid_t server, const s_q_t *qs, size_t n_qs, int window, double secs,
                   int want_rcode, bool count, s_row_t *row)
{
    static int64_t sent_at[65536];
    static bool out[65536];
    memset (out, 0, sizeof out);
    int fd = s_socket (port);
    uint16_t next_id = 1;
    size_t next_q = 0;
    int inflight = 0;
    double cpu0 = bl_cpu_s (server);
    int64_t t0 = hs_mono_ns (), t_end = t0 + (int64_t)(secs * 1e9);
    int64_t last_answer = t0;
    uint8_t buf[1500], pkt[300];
    while (hs_mono_ns () < t_end) {
        while (inflight < window) {
            const s_q_t *q = &qs[next_q++ % n_qs];
            memcpy (pkt, q->pkt, q->len);
            uint16_t id = next_id++;
            if (out[id]) continue; /* still out after 65536 sends: lost long ago */
            pkt[0] = (uint8_t)(id >> 8);
            pkt[1] = (uint8_t)id;
            sent_at[id] = hs_mono_ns ();
            if (send (fd, pkt, q->len, 0) != (ssize_t)q->len) break;
            out[id] = true;
            inflight++;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll (&pfd, 1, 100);
        int64_t now = hs_mono_ns ();
        if (pr == 0 && now - last_answer > 1000 * MS) {
            /* nothing for a second: what is out is lost */
            if (count) row->lost += (uint64_t)inflight;
            memset (out, 0, sizeof out);
            inflight = 0;
            last_answer = now;
            continue;
        }
        for (;;) {
            ssize_t n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n < 12) break;
            uint16_t id = (uint16_t)((buf[0] << 8) | buf[1]);
            if (!out[id]) continue;
            now = hs_mono_ns ();
            out[id] = false;
            inflight--;
            last_answer = now;
            if (!count) continue;
            bl_samples_add (&row->lat, (uint64_t)(now - sent_at[id]));
            row->answered++;
            if ((buf[3] & 0x0f) != want_rcode) row->wrong++;
        }
    }
    double wall = (double)(hs_mono_ns () - t0) / 1e9;
    if (count) {
        row->qps = (double)row->answered / wall;
        double cpu1 = bl_cpu_s (server);
        row->cpu_pct = cpu0 >= 0 && cpu1 >= 0 ? 100.0 * (cpu1 - cpu0) / wall : -1;
    }
    close (fd);
}

static void s_print_row (const char *server, const char *what, int window, s_row_t *r)
{
    char qps[32], p50[32], p99[32], max[32], cpu[16];
    bl_samples_sort (&r->lat);
    snprintf (cpu, sizeof cpu, r->cpu_pct >= 0 ? "%.0f%%" : "-", r->cpu_pct);
    printf ("   %-8s %-22s %6d %10s %10s %10s %10s %8s %6llu %6llu\n", server, what, window,
            bl_fmt_count (r->qps, qps, sizeof qps), bl_fmt_ns (bl_pct (&r->lat, 50), p50, 32),
            bl_fmt_ns (bl_pct (&r->lat, 99), p99, 32), bl_fmt_ns (bl_pct (&r->lat, 100), max, 32),
            cpu, (unsigned long long)r->lost, (unsigned long long)r->wrong);
    fflush (stdout);
}

static void s_usage (FILE *f)
{
    fprintf (f, "usage: bench-dns [--services N] [--seconds S] [--rounds R] [--bin DIR]\n"
                "  --services N   Services (and dnsmasq host records) to serve (default 100)\n"
                "  --seconds S    measured time per row and server (default 6)\n"
                "  --rounds R     slices the servers take turns in, per row (default 6)\n"
                "  --bin DIR      where hs-bus, hs-store, hs-dns are\n");
}

static const char *s_dnsmasq (void)
{
    static const char *paths[] = {"/usr/sbin/dnsmasq", "/sbin/dnsmasq", "/usr/bin/dnsmasq"};
    for (size_t i = 0; i < HS_ARRAY_LEN (paths); i++)
        if (access (paths[i], X_OK) == 0) return paths[i];
    return NULL;
}

int main (int argc, char **argv)
{
    bl_init ("bench-dns");
    s_opts_t o = {.services = 100, .seconds = 6, .rounds = 6};
    static const struct option opts[] = {
        {"services", required_argument, NULL, 'n'}, {"seconds", required_argument, NULL, 's'},
        {"bin", required_argument, NULL, 'b'},      {"rounds", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},           {0}};
    int c;
    while ((c = getopt_long (argc, argv, "n:s:b:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': o.services = bl_parse_int ("--services", optarg, 1, 250 * 250); break;
        case 's': o.seconds = bl_parse_seconds ("--seconds", optarg, false); break;
        case 'b': o.bin_dir = optarg; break;
        case 'r': o.rounds = bl_parse_int ("--rounds", optarg, 1, 100); break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    const char *names[] = {"hs-bus", "hs-store", "hs-dns"};
    char *bin[3];
    bl_find_bins (names, 3, o.bin_dir, bin);
    char *tmp = bl_tmpdir ("dns");
    bl_plane_t plane;
    bl_plane_start (&plane, tmp, bin[0], bin[1], true);

    /* dnsmasq: the same names, from memory */
    const char *dm = s_dnsmasq ();
    int dm_port = 0;
    pid_t dm_pid = 0;
    char **dm_argv = NULL;
    if (dm) {
        dm_port = bl_free_port (false);
        size_t k = 0;
        dm_argv = hs_calloc ((size_t)o.services + 16, sizeof *dm_argv);
        dm_argv[k++] = (char *)dm;
        dm_argv[k++] = "-k";
        dm_argv[k++] = "--conf-file=/dev/null";
        dm_argv[k++] = "--no-resolv";
        dm_argv[k++] = "--no-hosts";
        dm_argv[k++] = "--listen-address=127.0.0.1";
        dm_argv[k++] = "--bind-interfaces";
        dm_argv[k++] = hs_sprintf ("--port=%d", dm_port);
        dm_argv[k++] = "--local=/cluster.local/";
        dm_argv[k++] = "--local-ttl=5";
        dm_argv[k++] = "--pid-file";
        for (int i = 0; i < o.services; i++)
            dm_argv[k++] = hs_sprintf ("--host-record=svc-%d.bench.svc.cluster.local,10.96.%d.%d",
                                       i, 1 + i / 250, 1 + i % 250);
        char *log = hs_sprintf ("%s/dnsmasq.log", tmp);
        dm_pid = bl_spawn (dm_argv, log);
        free (log);
    }

    int port = bl_free_port (false);
    char *listen = hs_sprintf ("127.0.0.1:%d", port);
    char *upstream = hs_sprintf ("127.0.0.1:%d", dm_port ? dm_port : 9);
    char *dns_log = hs_sprintf ("%s/hs-dns.log", tmp);
    char *a_dns[] = {bin[2], "--bus", plane.bus, "--listen", listen, "--upstream", upstream, NULL};
    pid_t dns_pid = bl_spawn (a_dns, dns_log);
    bl_wait_log (dns_log, "synced", dns_pid, 30000);

    /* the Services */
    hs_client_t *cl = NULL;
    int r = hs_client_new (plane.bus, "bench-dns", NULL, 10000, &cl);
    if (r < 0) bl_die ("cannot join the bus: %s", strerror (-r));
    for (int i = 0; i < o.services;) {
        Hs__Write *w[100];
        size_t n = 0;
        for (; n < 100 && i < o.services; n++, i++) {
            char name[32], ip[32];
            snprintf (name, sizeof name, "svc-%d", i);
            snprintf (ip, sizeof ip, "10.96.%d.%d", 1 + i / 250, 1 + i % 250);
            Hs__Object *s = hs_obj_new (HS_KIND_SERVICE, "bench", name);
            s->service->spec = hs_pb_new (&hs__service_spec__descriptor);
            hs_pb_set_str (&s->service->spec->cluster_ip, ip);
            w[n] = hs_write_new (HS__OP__OP_APPLY, s);
        }
        Hs__Ack *ack = NULL;
        r = hs_client_call (cl, w, n, NULL, &ack);
        for (size_t k = 0; k < n; k++) hs_pb_free (w[k]);
        if (r < 0 || ack->code != HS__CODE__CODE_OK)
            bl_die ("cannot apply the Services: %s", r < 0 ? strerror (-r) : ack->message);
        hs_pb_free (ack);
    }
    hs_client_destroy (&cl);
    char last[64];
    snprintf (last, sizeof last, "svc-%d.bench.svc.cluster.local", o.services - 1);
    int64_t deadline = hs_mono_ns () + 20000 * MS;
    while (s_ask (port, last, 200) != 0)
        if (hs_mono_ns () > deadline) bl_die ("hs-dns does not answer %s", last);
    if (dm) {
        deadline = hs_mono_ns () + 10000 * MS;
        while (s_ask (dm_port, last, 200) != 0)
            if (hs_mono_ns () > deadline) bl_die ("dnsmasq does not answer %s", last);
    }

    size_t nq = (size_t)o.services;
    s_q_t *known = hs_calloc (nq, sizeof *known), *nx = hs_calloc (nq, sizeof *nx);
    for (size_t i = 0; i < nq; i++) {
        char name[64];
        snprintf (name, sizeof name, "svc-%zu.bench.svc.cluster.local", i);
        s_query (&known[i], name);
        snprintf (name, sizeof name, "nosuch-%zu.bench.svc.cluster.local", i);
        s_query (&nx[i], name);
    }

    printf ("\n== bench-dns: one UDP client on loopback, %d Services, %.1f s per row\n", o.services,
            o.seconds);
    printf ("   hs-dns (--ttl 5) and dnsmasq (%s) serve the same names from memory\n",
            dm ? "--local=/cluster.local/, --host-record each" : "not installed: rows skipped");
    printf ("   %-8s %-22s %6s %10s %10s %10s %10s %8s %6s %6s\n", "server", "queries", "window",
            "q/s", "p50", "p99", "max", "srv CPU", "lost", "wrong");
    struct {
        const char *server;
        int port;
        pid_t pid;
    } servers[] = {{"hs-dns", port, dns_pid}, {"dnsmasq", dm_port, dm_pid}};
    static const int windows[] = {1, 16};
    /* The servers take turns in short slices, so a machine whose load
     * changes during the run weighs on both alike. */
    for (int kind = 0; kind < 2; kind++)
        for (size_t wi = 0; wi < HS_ARRAY_LEN (windows); wi++) {
            s_row_t rows[2];
            memset (rows, 0, sizeof rows);
            double wall[2] = {0, 0}, cpu[2] = {0, 0};
            const s_q_t *qs = kind == 0 ? known : nx;
            int want = kind == 0 ? 0 : 3;
            for (int round = 0; round < o.rounds; round++)
                for (size_t s = 0; s < HS_ARRAY_LEN (servers); s++) {
                    if (!servers[s].port) continue;
                    s_row_t r;
                    memset (&r, 0, sizeof r);
                    if (round == 0)
                        s_run (servers[s].port, servers[s].pid, qs, nq, windows[wi], 0.3, want,
                               false, &r);
                    double slice = o.seconds / o.rounds;
                    s_run (servers[s].port, servers[s].pid, qs, nq, windows[wi], slice, want, true,
                           &r);
                    rows[s].answered += r.answered;
                    rows[s].lost += r.lost;
                    rows[s].wrong += r.wrong;
                    bl_samples_merge (&rows[s].lat, &r.lat);
                    wall[s] += r.answered / (r.qps > 0 ? r.qps : 1);
                    cpu[s] += r.cpu_pct >= 0 ? r.cpu_pct * slice / 100.0 : 0;
                    bl_samples_free (&r.lat);
                }
            for (size_t s = 0; s < HS_ARRAY_LEN (servers); s++) {
                if (!servers[s].port) continue;
                rows[s].qps = wall[s] > 0 ? (double)rows[s].answered / wall[s] : 0;
                rows[s].cpu_pct = 100.0 * cpu[s] / o.seconds;
                s_print_row (servers[s].server, kind == 0 ? "A, known names" : "A, NXDOMAIN",
                             windows[wi], &rows[s]);
                bl_samples_free (&rows[s].lat);
            }
        }
    printf ("\n   window 1: the next query goes when the last is answered (q/s = 1/latency);\n"
            "   window 16: 16 in flight. wrong: an rcode other than NOERROR / NXDOMAIN.\n");
    free (known);
    free (nx);
    free (listen);
    free (upstream);
    free (dns_log);
    for (int i = 0; i < 3; i++) free (bin[i]);
    if (dm_argv) {
        free (dm_argv[7]);
        for (int i = 0; i < o.services; i++) free (dm_argv[11 + i]);
        free (dm_argv);
    }
    bl_plane_free (&plane);
    bl_cleanup ();
    free (tmp);
    return 0;
}
