/*  bench_proxy.c: hs-proxy's costs, in a network namespace the benchmark
 *  makes for itself (root; the root namespace is never touched).
 *
 *  1. In-process, N Services x M ready endpoints (default 1,000 x 10):
 *     - render: the whole table's text (proxy_render_full);
 *     - full apply through libnftables (one transaction re-creating it);
 *     - the same text through the nft CLI (`nft -f FILE`), the peer;
 *     - the proxier's incremental sync of one endpoint change (render of
 *       the diff + apply), and the same diff text through `nft -f`.
 *  2. Processes: hs-bus, hs-store (fsync on) and hs-proxy in the namespace;
 *     K Endpoints writes, each giving a Service without endpoints its first
 *     one; from the write sent on the bus to the Service's chain being in
 *     the kernel (probed with libnftables every ~1 ms), p50/p99, with
 *     --min-sync-period 0 (our default) and 1000 (kube-proxy's default
 *     minSyncPeriod) side by side. (Each write creates an Endpoints object:
 *     the store on this branch keeps only "spec" on update, and Endpoints
 *     has none.)
 */
#include "benchlib.h"
#include "proxy.h"
#include "proxy_ct.h"
#include "proxy_nft.h"

#include "hs_client.h"
#include "hs_pb.h"

#include <errno.h>
#include <getopt.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS (1000LL * 1000)

extern char **environ;

static int s_services = 1000, s_endpoints = 10, s_changes = 100, s_runs = 5;
static char *s_bin_proxy, *s_bin_bus, *s_bin_store;

static proxy_conf_t s_conf (void)
{
    proxy_conf_t c = {.masquerade_egress = true};
    hs_cidr_parse ("10.244.0.0/16", &c.cluster);
    hs_cidr_parse ("10.96.0.0/16", &c.service);
    return c;
}

static uint32_t s_cluster_ip (int i)
{
    return (10u << 24 | 96u << 16) + 100u + (uint32_t)i;
}

static uint32_t s_ep_ip (int i, int j)
{
    return (10u << 24 | 244u << 16) + 1u + (uint32_t)(i * s_endpoints + j) % 65000u;
}

/* Service svc-I with M endpoints, the first one's address moved by `gen`. */
static proxy_svc_t *s_model (int i, int gen)
{
    proxy_svc_t *s = hs_calloc (1, sizeof *s);
    s->ns = hs_strdup ("default");
    s->name = hs_sprintf ("svc-%d", i);
    s->cluster_ip = s_cluster_ip (i);
    s->n_ports = 1;
    s->ports = hs_calloc (1, sizeof *s->ports);
    s->ports[0].proto = 6;
    s->ports[0].port = 80;
    s->ports[0].n_eps = (size_t)s_endpoints;
    s->ports[0].eps = hs_calloc ((size_t)s_endpoints, sizeof (proxy_ep_t));
    for (int j = 0; j < s_endpoints; j++) s->ports[0].eps[j] = (proxy_ep_t){s_ep_ip (i, j), 8080};
    if (gen) s->ports[0].eps[0].ip = (10u << 24 | 245u << 16) + (uint32_t)gen;
    return s;
}

/* CPU time (user + system) of this process or of its reaped children. */
static int64_t s_cpu_ns (int who)
{
    struct rusage ru;
    getrusage (who, &ru);
    return ((int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
            ru.ru_stime.tv_usec) *
           1000;
}

/* `nft -f path`: wall time, or -1. */
static int64_t s_nft_cli (const char *path)
{
    char *argv[] = {"nft", "-f", (char *)path, NULL};
    int64_t t0 = hs_mono_ns ();
    pid_t pid;
    if (posix_spawnp (&pid, "nft", NULL, NULL, argv, environ) != 0) return -1;
    int st;
    if (waitpid (pid, &st, 0) < 0 || !WIFEXITED (st) || WEXITSTATUS (st) != 0) return -1;
    return hs_mono_ns () - t0;
}

static void s_write (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    if (!f || fputs (text, f) < 0 || fclose (f) != 0) bl_die ("cannot write %s", path);
}

static void s_row (const char *what, bl_samples_t *s, const char *note)
{
    char a[32], b[32], c[32];
    bl_samples_sort (s);
    printf ("| %-52s | %5zu | %10s | %10s | %10s | %s\n", what, s->n,
            bl_fmt_ns (bl_pct (s, 50), a, sizeof a), bl_fmt_ns (bl_pct (s, 99), b, sizeof b),
            bl_fmt_ns (s->n ? s->v[s->n - 1] : 0, c, sizeof c), note ? note : "");
}

static void s_header (const char *title)
{
    printf ("\n%s\n\n", title);
    printf ("| %-52s | %5s | %10s | %10s | %10s | %s\n", "operation", "runs", "p50", "p99", "max",
            "notes");
    printf ("|%s|-------|------------|------------|------------|------\n",
            "------------------------------------------------------");
}

/* ------------------------------------------------------------------ part 1 */

static void s_in_process (const char *dir)
{
    proxy_conf_t conf = s_conf ();
    int n = s_services;
    proxy_svc_t **svcs = hs_calloc ((size_t)n, sizeof *svcs);
    for (int i = 0; i < n; i++) svcs[i] = s_model (i, 0);
    proxy_nft_t *nft = NULL;
    if (proxy_nft_new (&nft) < 0) bl_die ("libnftables: no context");
    const char *err = NULL;

    bl_samples_t render = {0}, apply = {0}, cli = {0}, apply_cpu = {0}, cli_cpu = {0};
    char *text = NULL;
    for (int r = 0; r < s_runs; r++) {
        free (text);
        int64_t t0 = hs_mono_ns ();
        text = proxy_render_full (&conf, svcs, (size_t)n);
        bl_samples_add (&render, (uint64_t)(hs_mono_ns () - t0));
    }
    size_t chains = 0;
    for (const char *c = text; (c = strstr (c, "\tchain ")); c++) chains++;
    char title[160];
    snprintf (title, sizeof title, "%d Services x %d ready endpoints (%zu chains), in-process", n,
              s_endpoints, chains);
    s_header (title);
    char note[96];
    snprintf (note, sizeof note, "%zu KiB of nft text", strlen (text) / 1024);
    s_row ("render the whole table (proxy_render_full)", &render, note);
    for (int r = 0; r < s_runs; r++) {
        int64_t c0 = s_cpu_ns (RUSAGE_SELF), t0 = hs_mono_ns ();
        if (proxy_nft_run (nft, text, &err) < 0) bl_die ("full apply: %s", err);
        bl_samples_add (&apply, (uint64_t)(hs_mono_ns () - t0));
        bl_samples_add (&apply_cpu, (uint64_t)(s_cpu_ns (RUSAGE_SELF) - c0));
    }
    s_row ("full apply, libnftables, one transaction", &apply, "table deleted + re-created");
    s_row ("  its CPU time (user + system, this process)", &apply_cpu, "the load-independent part");
    _cleanup_free_ char *path = hs_sprintf ("%s/full.nft", dir);
    s_write (path, text);
    for (int r = 0; r < s_runs; r++) {
        int64_t c0 = s_cpu_ns (RUSAGE_CHILDREN);
        int64_t t = s_nft_cli (path);
        if (t < 0) bl_die ("nft -f %s failed", path);
        bl_samples_add (&cli, (uint64_t)t);
        bl_samples_add (&cli_cpu, (uint64_t)(s_cpu_ns (RUSAGE_CHILDREN) - c0));
    }
    s_row ("full apply, `nft -f FILE` (the CLI peer)", &cli, "fork+exec+parse+apply");
    s_row ("  its CPU time (user + system, nft)", &cli_cpu, NULL);
    free (text);

    /* the proxier: a full sync, then one endpoint change at a time */
    proxy_opts_t o = {.render = conf, .min_sync_ns = 0, .sync_ns = 3600LL * 1000 * MS};
    proxy_t *p = proxy_new (&o);
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *key = hs_sprintf ("default/svc-%d", i);
        proxy_set (p, key, s_model (i, 0));
    }
    bl_samples_t full = {0}, inc = {0}, inc_render = {0}, inc_apply = {0}, inc_cli = {0},
                 inc_cpu = {0};
    int64_t t0 = hs_mono_ns ();
    if (proxy_sync (p, true, hs_mono_ns ()) < 0) bl_die ("proxier full sync failed");
    bl_samples_add (&full, (uint64_t)(hs_mono_ns () - t0));
    s_row ("proxier: first full sync (render + apply)", &full, NULL);
    int changes = s_changes;
    for (int c = 1; c <= changes; c++) {
        int i = (c * 7919) % n;
        _cleanup_free_ char *key = hs_sprintf ("default/svc-%d", i);
        proxy_set (p, key, s_model (i, c));
        int64_t c0 = s_cpu_ns (RUSAGE_SELF), now = hs_mono_ns ();
        if (proxy_sync (p, false, now) < 0) bl_die ("incremental sync failed");
        bl_samples_add (&inc, (uint64_t)(hs_mono_ns () - now));
        bl_samples_add (&inc_cpu, (uint64_t)(s_cpu_ns (RUSAGE_SELF) - c0));
        bl_samples_add (&inc_render, (uint64_t)proxy_stats (p)->last_render_ns);
        bl_samples_add (&inc_apply, (uint64_t)proxy_stats (p)->last_apply_ns);
    }
    s_row ("proxier: one endpoint changed, incremental sync", &inc, "1 endpoint of 1 Service");
    s_row ("  of which: building the diff", &inc_render, NULL);
    s_row ("  of which: libnftables apply", &inc_apply, NULL);
    s_row ("  its CPU time (user + system)", &inc_cpu, "getrusage: 1-4 ms granularity");
    /* the same kind of diff through the CLI */
    for (int c = 1; c <= 20; c++) {
        int i = (c * 104729) % n;
        proxy_svc_t *a = s_model (i, 0), *b = s_model (i, changes + c);
        proxy_diff_t d = {0};
        proxy_diff_service (&d, &conf, a, b);
        char *dt = proxy_diff_text (&d);
        _cleanup_free_ char *dp = hs_sprintf ("%s/diff-%d.nft", dir, c);
        s_write (dp, dt);
        /* the proxier's table holds svc i at gen 0 only if it was not
         * changed above; apply onto a fresh full table each time */
        char *ft = proxy_render_full (&conf, svcs, (size_t)n);
        if (proxy_nft_run (nft, ft, &err) < 0) bl_die ("re-full: %s", err);
        free (ft);
        int64_t t = s_nft_cli (dp);
        if (t < 0) bl_die ("nft -f %s failed", dp);
        bl_samples_add (&inc_cli, (uint64_t)t);
        free (dt);
        proxy_diff_clear (&d);
        proxy_svc_destroy (&a);
        proxy_svc_destroy (&b);
    }
    s_row ("one endpoint changed, the same diff via `nft -f`", &inc_cli, "the CLI peer");
    /* what a removed UDP endpoint adds after its rules are in */
    bl_samples_t ct = {0};
    for (int c = 0; c < 20; c++) {
        proxy_ct_gone_t g = {s_cluster_ip (0), 53, s_ep_ip (0, 0)};
        int64_t t = hs_mono_ns ();
        if (proxy_ct_flush_udp (&g, 1) < 0) bl_die ("conntrack dump failed");
        bl_samples_add (&ct, (uint64_t)(hs_mono_ns () - t));
    }
    s_row ("UDP endpoint gone: conntrack dump + match", &ct, "after the apply; empty table");
    bl_samples_free (&ct);
    proxy_destroy (&p);
    proxy_nft_cleanup (nft, &err);
    proxy_nft_destroy (&nft);
    for (int i = 0; i < n; i++) proxy_svc_destroy (&svcs[i]);
    free (svcs);
    bl_samples_free (&render);
    bl_samples_free (&apply);
    bl_samples_free (&cli);
    bl_samples_free (&apply_cpu);
    bl_samples_free (&cli_cpu);
    bl_samples_free (&full);
    bl_samples_free (&inc);
    bl_samples_free (&inc_render);
    bl_samples_free (&inc_apply);
    bl_samples_free (&inc_cli);
    bl_samples_free (&inc_cpu);
}

/* ------------------------------------------------------------------ part 2 */

static Hs__Object *s_service_obj (int i)
{
    char name[32], ip[16];
    snprintf (name, sizeof name, "svc-%d", i);
    Hs__Object *o = hs_obj_new (HS_KIND_SERVICE, "default", name);
    Hs__ServiceSpec *sp = o->service->spec = hs_pb_new (&hs__service_spec__descriptor);
    hs_pb_set_str (&sp->cluster_ip, hs_ip_format (s_cluster_ip (i), ip));
    sp->n_ports = 1;
    sp->ports = hs_calloc (1, sizeof *sp->ports);
    sp->ports[0] = hs_pb_new (&hs__service_port__descriptor);
    sp->ports[0]->port = 80;
    hs_pb_set_str (&sp->ports[0]->target_port, "8080");
    return o;
}

static Hs__Object *s_endpoints_obj (int i, int m)
{
    char name[32], ip[16];
    snprintf (name, sizeof name, "svc-%d", i);
    Hs__Object *o = hs_obj_new (HS_KIND_ENDPOINTS, "default", name);
    Hs__Endpoints *e = o->endpoints;
    e->n_subsets = 1;
    e->subsets = hs_calloc (1, sizeof *e->subsets);
    Hs__EndpointSubset *ss = e->subsets[0] = hs_pb_new (&hs__endpoint_subset__descriptor);
    ss->n_addresses = (size_t)m;
    ss->addresses = hs_calloc ((size_t)m, sizeof *ss->addresses);
    for (int j = 0; j < m; j++) {
        ss->addresses[j] = hs_pb_new (&hs__endpoint_address__descriptor);
        hs_pb_set_str (&ss->addresses[j]->ip, hs_ip_format (s_ep_ip (i, j), ip));
    }
    ss->n_ports = 1;
    ss->ports = hs_calloc (1, sizeof *ss->ports);
    ss->ports[0] = hs_pb_new (&hs__endpoint_port__descriptor);
    ss->ports[0]->port = 8080;
    return o;
}

static void s_create (hs_client_t *cl, Hs__Object **objs, int n)
{
    for (int base = 0; base < n; base += 200) {
        int k = n - base < 200 ? n - base : 200;
        Hs__Write **w = hs_calloc ((size_t)k, sizeof *w);
        for (int i = 0; i < k; i++) w[i] = hs_write_new (HS__OP__OP_CREATE, objs[base + i]);
        Hs__Ack *ack = NULL;
        hs_call_opts_t o = {.timeout_ms = 60000};
        int r = hs_client_call (cl, w, (size_t)k, &o, &ack);
        for (int i = 0; i < k; i++) hs_pb_free (w[i]);
        free (w);
        if (r < 0 || ack->code != HS__CODE__CODE_OK)
            bl_die ("cannot create: %s", r < 0 ? strerror (-r) : ack->message);
        hs_pb_free (ack);
    }
}

/* Whether chain service-default/svc-I/tcp/80 is in the kernel: one
 * NFT_MSG_GETCHAIN over netlink (libmnl), not a libnftables `list chain`,
 * which loads the whole table into nft's cache first (hundreds of ms at
 * this size: it would be the measurement). */
static struct mnl_socket *s_nl;

static int s_on_chain (const struct nlmsghdr *nlh, void *arg)
{
    (void)nlh;
    *(bool *)arg = true;
    return MNL_CB_OK;
}

static bool s_chain_in_kernel (int i)
{
    if (!s_nl) {
        s_nl = mnl_socket_open (NETLINK_NETFILTER);
        if (!s_nl || mnl_socket_bind (s_nl, 0, MNL_SOCKET_AUTOPID) < 0)
            bl_die ("netlink: %s", strerror (errno));
    }
    static uint32_t seq;
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
    nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = ++seq;
    struct nfgenmsg *g = mnl_nlmsg_put_extra_header (nlh, sizeof *g);
    g->nfgen_family = NFPROTO_IPV4;
    g->version = NFNETLINK_V0;
    g->res_id = 0;
    char name[96];
    snprintf (name, sizeof name, "service-default/svc-%d/tcp/80", i);
    mnl_attr_put_strz (nlh, NFTA_CHAIN_TABLE, PROXY_TABLE);
    mnl_attr_put_strz (nlh, NFTA_CHAIN_NAME, name);
    if (mnl_socket_sendto (s_nl, nlh, nlh->nlmsg_len) < 0)
        bl_die ("netlink send: %s", strerror (errno));
    ssize_t n = mnl_socket_recvfrom (s_nl, buf, sizeof buf);
    if (n < 0) bl_die ("netlink recv: %s", strerror (errno));
    bool found = false;
    int r = mnl_cb_run (buf, (size_t)n, seq, mnl_socket_get_portid (s_nl), s_on_chain, &found);
    if (r < 0 && errno != ENOENT) bl_die ("netlink: %s", strerror (errno));
    return found;
}

/* Starts hs-proxy with min_sync_ms and waits for its first full sync. */
static pid_t s_proxy_start (const char *bus, const char *dir, int min_sync_ms)
{
    char ms[16];
    snprintf (ms, sizeof ms, "%d", min_sync_ms);
    _cleanup_free_ char *log = hs_sprintf ("%s/proxy-%d.log", dir, min_sync_ms);
    char *argv[] = {s_bin_proxy,         "--bus", (char *)bus,     "--node-name", "bench",
                    "--min-sync-period", ms,      "--sync-period", "3600",        NULL};
    pid_t pid = bl_spawn (argv, log);
    bl_wait_log (log, "full sync", pid, 60000);
    return pid;
}

/* K changes, each spaced by a random pause up to gap_ms: write -> chain. */
static void s_latency (hs_client_t *cl, int first, int k, int gap_ms, bl_samples_t *kern,
                       bl_samples_t *ack, bl_samples_t *probe)
{
    for (int c = 0; c < k; c++) {
        if (gap_ms) bl_sleep_until (hs_mono_ns () + (int64_t)(rand () % gap_ms) * MS);
        int i = first + c;
        Hs__Write *w = hs_write_new (HS__OP__OP_CREATE, s_endpoints_obj (i, 1));
        int64_t acked = 0, t0 = hs_mono_ns ();
        int r = hs_client_send (cl, &w, 1, NULL, NULL, NULL);
        hs_pb_free (w);
        if (r < 0) bl_die ("cannot send an Endpoints write: %s", strerror (-r));
        int64_t deadline = t0 + 30000 * MS;
        bool seen = false;
        while (!seen && hs_mono_ns () < deadline) {
            hs_client_process (cl, 0);
            if (!acked && hs_client_inflight (cl) == 0) acked = hs_mono_ns ();
            int64_t p0 = hs_mono_ns ();
            seen = s_chain_in_kernel (i);
            int64_t p1 = hs_mono_ns ();
            bl_samples_add (probe, (uint64_t)(p1 - p0));
            if (seen) {
                bl_samples_add (kern, (uint64_t)(p1 - t0));
                break;
            }
            bl_sleep_until (p1 + MS);
        }
        if (!seen) bl_die ("svc-%d's chain never reached the kernel", i);
        while (!acked && hs_mono_ns () < deadline) {
            hs_client_process (cl, 1);
            if (hs_client_inflight (cl) == 0) acked = hs_mono_ns ();
        }
        bl_samples_add (ack, (uint64_t)(acked - t0));
    }
}

static void s_processes (const char *dir)
{
    bl_plane_t plane;
    bl_plane_start (&plane, dir, s_bin_bus, s_bin_store, false);
    hs_client_t *cl = NULL;
    if (hs_client_new (plane.bus, "bench-proxy", "bench", 10000, &cl) < 0)
        bl_die ("cannot join the bus at %s", plane.bus);
    /* N Services with M endpoints, and 2K without endpoints (the changes) */
    int n = s_services, k = s_changes, k2 = 20;
    int total = n + k + k2;
    Hs__Object **objs = hs_calloc ((size_t)total, sizeof *objs);
    for (int i = 0; i < total; i++) objs[i] = s_service_obj (i);
    s_create (cl, objs, total);
    for (int i = 0; i < n; i++) objs[i] = s_endpoints_obj (i, s_endpoints);
    s_create (cl, objs, n);
    free (objs);
    proxy_nft_t *nft = NULL;
    if (proxy_nft_new (&nft) < 0) bl_die ("libnftables: no context");

    char title[200];
    snprintf (
        title, sizeof title,
        "Endpoints write on the bus -> the Service's chain in the kernel (%d Services, hs-store "
        "with fsync)",
        total);
    s_header (title);
    pid_t proxy = s_proxy_start (plane.bus, dir, 0);
    for (int t = 0; t < 600 && !s_chain_in_kernel (n - 1); t++)
        bl_sleep_until (hs_mono_ns () + 100 * MS);
    bl_samples_t kern = {0}, ack = {0}, probe = {0};
    s_latency (cl, n, k, 50, &kern, &ack, &probe);
    s_row ("hs-proxy --min-sync-period 0 (our default)", &kern, "write sent -> rule in kernel");
    s_row ("  the store's ack of that write", &ack, NULL);
    s_row ("  one probe (netlink GETCHAIN)", &probe, "+1 ms sleep between probes");
    bl_stop (proxy);
    bl_samples_free (&kern);
    bl_samples_free (&ack);
    bl_samples_free (&probe);
    proxy = s_proxy_start (plane.bus, dir, 1000);
    s_latency (cl, n + k, k2, 1000, &kern, &ack, &probe);
    s_row ("hs-proxy --min-sync-period 1000 (kube-proxy's default)", &kern, "changes 0-1 s apart");
    bl_stop (proxy);
    bl_samples_free (&kern);
    bl_samples_free (&ack);
    bl_samples_free (&probe);
    const char *err = NULL;
    proxy_nft_cleanup (nft, &err);
    proxy_nft_destroy (&nft);
    hs_client_destroy (&cl);
    bl_plane_free (&plane);
}

static void s_usage (FILE *f)
{
    fprintf (f, "usage: bench-proxy [--bin DIR] [--services N] [--endpoints M] [--changes K]\n"
                "                   [--only 1|2]\n"
                "  needs root: it makes its own network namespace (the root one is untouched)\n"
                "  --services N   Services (default 1000), each with M ready endpoints (10)\n"
                "  --changes K    incremental changes measured (default 100)\n"
                "  --only 1       in-process render/apply only; --only 2: bus -> kernel only\n");
}

int main (int argc, char **argv)
{
    const char *bin_dir = NULL;
    int only = 0;
    static struct option opts[] = {{"bin", required_argument, 0, 'b'},
                                   {"services", required_argument, 0, 's'},
                                   {"endpoints", required_argument, 0, 'e'},
                                   {"changes", required_argument, 0, 'c'},
                                   {"only", required_argument, 0, 'o'},
                                   {"help", no_argument, 0, 'h'},
                                   {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'b': bin_dir = optarg; break;
        case 's': s_services = bl_parse_int ("--services", optarg, 1, 5000); break;
        case 'e': s_endpoints = bl_parse_int ("--endpoints", optarg, 1, 100); break;
        case 'c': s_changes = bl_parse_int ("--changes", optarg, 1, 10000); break;
        case 'o': only = bl_parse_int ("--only", optarg, 1, 2); break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    if (geteuid () != 0) {
        fprintf (stderr, "bench-proxy: needs root (its own network namespace, nftables)\n");
        return 77;
    }
    /* before any thread (ZeroMQ's) and any child: all of it lives here */
    if (unshare (CLONE_NEWNET) != 0) {
        fprintf (stderr, "bench-proxy: unshare(CLONE_NEWNET): %s\n", strerror (errno));
        return 1;
    }
    if (system ("ip link set lo up") != 0) fprintf (stderr, "bench-proxy: lo stays down\n");
    bl_init ("bench-proxy");
    char *bins[3];
    const char *names[] = {"hs-proxy", "hs-bus", "hs-store"};
    bl_find_bins (names, 3, bin_dir, bins);
    s_bin_proxy = bins[0];
    s_bin_bus = bins[1];
    s_bin_store = bins[2];
    char *dir = bl_tmpdir ("proxy");
    printf ("bench-proxy: in a network namespace of its own; durations are wall time\n");
    if (!only || only == 1) s_in_process (dir);
    if (!only || only == 2) s_processes (dir);
    free (dir);
    for (int i = 0; i < 3; i++) free (bins[i]);
    return 0;
}
