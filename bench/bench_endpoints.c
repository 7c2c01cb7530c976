/*  bench_endpoints.c: bench-endpoints, hs-endpoints' hop of Service
 *  convergence: a pod's Ready condition flips -> its Service's Endpoints
 *  say so. For each size S in --services (default 10 and 1,000), with
 *  --pods-per (10) pods per Service:
 *
 *    1. load: hs-bus, hs-store (durable, or --no-sync), S Services (each
 *       selecting app=svc-<i>, port http -> targetPort http) and S x P pods
 *       (container port http 8080, Running, a podIP, Ready), written
 *       directly; then hs-endpoints is started (one instance,
 *       --member-timeout-ms 200, --resync-ms 1000);
 *    2. full pass: its first full pass (from its log: compute every
 *       Endpoints and send the creates), the time from its start to the
 *       last Endpoints ADDED event, and then the steady resync pass (all S
 *       Services compared, nothing written), from its heartbeat's
 *       full_pass_us gauge, median and max of 5;
 *    3. flips: --flips (200) status writes, one at a time, each flipping the
 *       Ready condition of pod 0 of another Service. hop = the Endpoints'
 *       commit - the pod status' commit (both the store's committed_at_ns:
 *       what hs-endpoints adds between the two writes, bus hops included);
 *       e2e = the bench's status write sent -> the Endpoints event received
 *       (both writes' group commits and fsyncs, the bus, hs-endpoints).
 *       Also hs-endpoints' CPU per flip.
 *
 *  Prints tables; no pass/fail.
 */
#include "benchlib.h"
#include "hs_client.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS    1000000LL
#define BATCH 500

enum { B_BUS, B_STORE, B_EP, B_N };
static const char *s_names[B_N] = {"hs-bus", "hs-store", "hs-endpoints"};
static char *s_bin[B_N];
static bool s_nosync;

typedef struct {
    char *dir;
    bl_plane_t plane;
    hs_client_t *cl;
    int64_t ep_added;
    /* the flip being measured */
    char pod[48], svc[48], ip[24];
    bool want_ready;
    int64_t pod_commit_ns, ep_commit_ns, ep_seen_mono;
    /* hs-endpoints' heartbeat */
    uint64_t full_passes, full_pass_us;
} cluster_t;

static void s_pump (cluster_t *c, int ms)
{
    int r = hs_client_process (c->cl, ms);
    if (r < 0 && r != -EINTR) bl_die ("the bus failed: %s", strerror (-r));
}

static void s_ip (int i, char *buf, size_t len)
{
    snprintf (buf, len, "10.244.%d.%d", i / 250, i % 250 + 1);
}

/* ------------------------------------------------------------------ events */

static void s_on_pod (void *arg, const char *topic, const Hs__Envelope *env)
{
    cluster_t *c = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_EVENT || !c->pod[0]) return;
    const Hs__WatchEvent *e = env->event;
    const Hs__ObjectMeta *m = hs_obj_meta (e->object);
    if (e->type != HS__EVENT_TYPE__MODIFIED || !m || !hs_streq (m->name, c->pod)) return;
    if (hs_pod_ready (e->object->pod) == c->want_ready && !c->pod_commit_ns)
        c->pod_commit_ns = e->committed_at_ns;
}

/* Is ip in the Endpoints' ready (or not-ready) addresses? */
static bool s_has (const Hs__Endpoints *ep, const char *ip, bool ready)
{
    for (size_t i = 0; i < ep->n_subsets; i++) {
        const Hs__EndpointSubset *s = ep->subsets[i];
        size_t n = ready ? s->n_addresses : s->n_not_ready_addresses;
        for (size_t j = 0; j < n; j++)
            if (hs_streq ((ready ? s->addresses[j] : s->not_ready_addresses[j])->ip, ip))
                return true;
    }
    return false;
}

static void s_on_ep (void *arg, const char *topic, const Hs__Envelope *env)
{
    cluster_t *c = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_EVENT) return;
    const Hs__WatchEvent *e = env->event;
    if (e->type == HS__EVENT_TYPE__ADDED) c->ep_added++;
    const Hs__ObjectMeta *m = hs_obj_meta (e->object);
    if (e->type != HS__EVENT_TYPE__MODIFIED || !m || !c->svc[0] || !hs_streq (m->name, c->svc))
        return;
    const Hs__Endpoints *ep = e->object->endpoints;
    if (s_has (ep, c->ip, c->want_ready) && !s_has (ep, c->ip, !c->want_ready) &&
        !c->ep_commit_ns) {
        c->ep_commit_ns = e->committed_at_ns;
        c->ep_seen_mono = hs_mono_ns ();
    }
}

static void s_on_hb (void *arg, const char *topic, const Hs__Envelope *env)
{
    cluster_t *c = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_HEARTBEAT) return;
    const Hs__ComponentHeartbeat *hb = env->heartbeat;
    for (size_t k = 0; k < hb->n_counters; k++)
        if (hs_streq (hb->counters[k]->name, "full_passes"))
            c->full_passes = hb->counters[k]->value;
    /* the last sweep's time: a gauge (docs/protocol.md §8) */
    for (size_t k = 0; k < hb->n_gauges; k++)
        if (hs_streq (hb->gauges[k]->name, "full_pass_us"))
            c->full_pass_us = (uint64_t)hb->gauges[k]->value;
}

/* ------------------------------------------------------------------ objects */

static Hs__Object *s_service (int i)
{
    char name[32];
    snprintf (name, sizeof name, "svc-%d", i);
    Hs__Object *o = hs_obj_new (HS_KIND_SERVICE, "default", name);
    Hs__ServiceSpec *sp = o->service->spec = hs_pb_new (&hs__service_spec__descriptor);
    hs_pb_map_set ((void ***)&sp->selector, &sp->n_selector,
                   &hs__service_spec__selector_entry__descriptor, "app", name);
    Hs__ServicePort *p = hs_pb_new (&hs__service_port__descriptor);
    hs_pb_set_str (&p->name, "http");
    p->port = 80;
    hs_pb_set_str (&p->target_port, "http");
    hs_pb_set_str (&p->protocol, "TCP");
    hs_pb_push ((void ***)&sp->ports, &sp->n_ports, p);
    return o;
}

static Hs__Object *s_pod (int svc, int j)
{
    char name[48], app[32];
    snprintf (name, sizeof name, "svc-%d-%d", svc, j);
    snprintf (app, sizeof app, "svc-%d", svc);
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
    hs_pb_map_set ((void ***)&o->pod->metadata->labels, &o->pod->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "app", app);
    Hs__PodSpec *sp = o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *ct = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&ct->name, "app");
    char *a0 = NULL, *a1 = NULL;
    hs_pb_set_str (&a0, "sleep");
    hs_pb_set_str (&a1, "3600");
    hs_pb_push ((void ***)&ct->command, &ct->n_command, a0);
    hs_pb_push ((void ***)&ct->command, &ct->n_command, a1);
    Hs__ContainerPort *cp = hs_pb_new (&hs__container_port__descriptor);
    hs_pb_set_str (&cp->name, "http");
    cp->container_port = 8080;
    hs_pb_set_str (&cp->protocol, "TCP");
    hs_pb_push ((void ***)&ct->ports, &ct->n_ports, cp);
    hs_pb_push ((void ***)&sp->containers, &sp->n_containers, ct);
    return o;
}

/* The status write of pod j of Service svc: Running, its IP, Ready or not. */
static Hs__Write *s_status (int svc, int j, int pods_per, bool ready)
{
    char name[48], ip[24];
    snprintf (name, sizeof name, "svc-%d-%d", svc, j);
    s_ip (svc * pods_per + j, ip, sizeof ip);
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
    Hs__PodStatus *st = o->pod->status = hs_pb_new (&hs__pod_status__descriptor);
    hs_pb_set_str (&st->phase, "Running");
    hs_pb_set_str (&st->pod_ip, ip);
    Hs__PodCondition *cond = hs_pb_new (&hs__pod_condition__descriptor);
    hs_pb_set_str (&cond->type, "Ready");
    hs_pb_set_str (&cond->status, ready ? "True" : "False");
    cond->last_transition_time = hs_now_ns ();
    hs_pb_push ((void ***)&st->conditions, &st->n_conditions, cond);
    return hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
}

/* Sends writes[0..n) (taken) in Commands of BATCH and waits for each. */
static void s_write_all (cluster_t *c, Hs__Write **w, size_t n, const char *what)
{
    for (size_t base = 0; base < n; base += BATCH) {
        size_t k = n - base < BATCH ? n - base : BATCH;
        Hs__Ack *ack = NULL;
        hs_call_opts_t o = {.timeout_ms = 60000};
        int r = hs_client_call (c->cl, w + base, k, &o, &ack);
        if (r < 0 || ack->code != HS__CODE__CODE_OK)
            bl_die ("cannot write %s: %s", what, r < 0 ? strerror (-r) : ack->message);
        hs_pb_free (ack);
    }
    for (size_t i = 0; i < n; i++) hs_pb_free (w[i]);
    free (w);
}

/* ------------------------------------------------------------------ a row */

static void s_cluster_up (cluster_t *c)
{
    *c = (cluster_t){0};
    c->dir = bl_tmpdir ("endpoints");
    bl_plane_start (&c->plane, c->dir, s_bin[B_BUS], s_bin[B_STORE], s_nosync);
    int r = hs_client_new (c->plane.bus, "bench-endpoints", NULL, 10000, &c->cl);
    if (r < 0) bl_die ("cannot join hs-bus: %s", strerror (-r));
    hs_client_on (c->cl, "ev.pod.", s_on_pod, c);
    hs_client_on (c->cl, "ev.endpoints.", s_on_ep, c);
    hs_client_on (c->cl, "hb.endpoints.", s_on_hb, c);
    hs_db_snapshot_t snap = {0};
    hs_kind_t k = HS_KIND_NODE;
    if (hs_client_snapshot (c->cl, &k, 1, NULL, 20000, &snap) < 0) {
        bl_tail_log (c->plane.store_log, 20);
        bl_die ("hs-store did not answer");
    }
    hs_db_snapshot_free (&snap);
}

static void s_cluster_down (cluster_t *c)
{
    hs_client_destroy (&c->cl);
    bl_cleanup ();
    bl_plane_free (&c->plane);
    free (c->dir);
    *c = (cluster_t){0};
}

/* The microseconds of hs-endpoints' "first pass done ... in N us" line, or -1. */
static long long s_first_pass_us (const char *log)
{
    FILE *f = fopen (log, "re");
    char line[1024];
    long long us = -1;
    while (f && fgets (line, sizeof line, f)) {
        const char *p = strstr (line, "first pass done");
        const char *in = p ? strstr (p, " in ") : NULL;
        if (in) us = atoll (in + 4);
    }
    if (f) fclose (f);
    return us;
}

static int s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void s_row (int n_svc, int pods_per, int flips)
{
    cluster_t c;
    s_cluster_up (&c);
    int n_pods = n_svc * pods_per;
    /* 1. load */
    Hs__Write **w = hs_calloc ((size_t)n_svc, sizeof *w);
    for (int i = 0; i < n_svc; i++) w[i] = hs_write_new (HS__OP__OP_CREATE, s_service (i));
    s_write_all (&c, w, (size_t)n_svc, "Services");
    w = hs_calloc ((size_t)n_pods, sizeof *w);
    for (int i = 0; i < n_pods; i++)
        w[i] = hs_write_new (HS__OP__OP_CREATE, s_pod (i / pods_per, i % pods_per));
    s_write_all (&c, w, (size_t)n_pods, "pods");
    w = hs_calloc ((size_t)n_pods, sizeof *w);
    for (int i = 0; i < n_pods; i++) w[i] = s_status (i / pods_per, i % pods_per, pods_per, true);
    s_write_all (&c, w, (size_t)n_pods, "pod statuses");

    /* 2. hs-endpoints: the first pass, everything written, steady passes */
    _cleanup_free_ char *log = hs_sprintf ("%s/hs-endpoints.log", c.dir);
    char *a_ep[] = {s_bin[B_EP],           "--bus", c.plane.bus,   "--instance", "e1",
                    "--member-timeout-ms", "200",   "--resync-ms", "1000",       NULL};
    int64_t t_start = hs_mono_ns ();
    pid_t ep = bl_spawn (a_ep, log);
    int64_t deadline = hs_mono_ns () + 120000 * MS;
    while (c.ep_added < n_svc) {
        if (!bl_alive (ep)) bl_die ("hs-endpoints died (log in %s)", log);
        if (hs_mono_ns () > deadline)
            bl_die ("only %lld of %d Endpoints", (long long)c.ep_added, n_svc);
        s_pump (&c, 20);
    }
    double all_s = (double)(hs_mono_ns () - t_start) / 1e9;
    long long first_us = s_first_pass_us (log);
    uint64_t steady[5];
    int n_steady = 0;
    uint64_t seen = c.full_passes;
    deadline = hs_mono_ns () + 60000 * MS;
    while (n_steady < 5 && hs_mono_ns () < deadline) {
        s_pump (&c, 50);
        if (c.full_passes > seen && c.full_passes >= 2) {
            seen = c.full_passes;
            steady[n_steady++] = c.full_pass_us;
        }
    }
    qsort (steady, (size_t)n_steady, sizeof *steady, s_cmp_u64);

    /* 3. flips */
    bool *ready = hs_calloc ((size_t)n_svc, sizeof *ready);
    for (int i = 0; i < n_svc; i++) ready[i] = true;
    bl_samples_t hop = {0}, e2e = {0};
    int lost = 0;
    double cpu0 = bl_cpu_s (ep);
    for (int k = 0; k < flips; k++) {
        int s = (int)(((int64_t)k * 7919) % n_svc);
        ready[s] = !ready[s];
        snprintf (c.pod, sizeof c.pod, "svc-%d-0", s);
        snprintf (c.svc, sizeof c.svc, "svc-%d", s);
        s_ip (s * pods_per, c.ip, sizeof c.ip);
        c.want_ready = ready[s];
        c.pod_commit_ns = c.ep_commit_ns = c.ep_seen_mono = 0;
        Hs__Write *sw = s_status (s, 0, pods_per, ready[s]);
        hs_call_opts_t o = {.timeout_ms = 10000};
        int64_t t0 = hs_mono_ns ();
        if (hs_client_send (c.cl, &sw, 1, &o, NULL, NULL) < 0) bl_die ("cannot send a status");
        hs_pb_free (sw);
        deadline = t0 + 5000 * MS;
        while ((!c.ep_commit_ns || !c.pod_commit_ns) && hs_mono_ns () < deadline) s_pump (&c, 5);
        if (!c.ep_commit_ns || !c.pod_commit_ns) {
            lost++;
            continue;
        }
        bl_samples_add (&hop, (uint64_t)(c.ep_commit_ns - c.pod_commit_ns));
        bl_samples_add (&e2e, (uint64_t)(c.ep_seen_mono - t0));
    }
    double cpu = bl_cpu_s (ep) - cpu0;
    bl_samples_sort (&hop);
    bl_samples_sort (&e2e);
    char b[10][32];
    printf ("%8d %7d %12s %12.3f %10s %10s | %6zu %5d %9s %9s %9s %9s %9s %9s %8s\n", n_svc, n_pods,
            first_us < 0 ? "?" : bl_fmt_ns ((uint64_t)first_us * 1000, b[0], sizeof b[0]), all_s,
            n_steady ? bl_fmt_ns (steady[n_steady / 2] * 1000, b[1], sizeof b[1]) : "?",
            n_steady ? bl_fmt_ns (steady[n_steady - 1] * 1000, b[2], sizeof b[2]) : "?", hop.n,
            lost, bl_fmt_ns (bl_pct (&hop, 50), b[3], sizeof b[3]),
            bl_fmt_ns (bl_pct (&hop, 99), b[4], sizeof b[4]),
            bl_fmt_ns (hop.n ? hop.v[hop.n - 1] : 0, b[5], sizeof b[5]),
            bl_fmt_ns (bl_pct (&e2e, 50), b[6], sizeof b[6]),
            bl_fmt_ns (bl_pct (&e2e, 99), b[7], sizeof b[7]),
            bl_fmt_ns (e2e.n ? e2e.v[e2e.n - 1] : 0, b[8], sizeof b[8]),
            hop.n ? bl_fmt_ns ((uint64_t)(cpu * 1e9 / (double)hop.n), b[9], sizeof b[9]) : "?");
    fflush (stdout);
    bl_samples_free (&hop);
    bl_samples_free (&e2e);
    free (ready);
    s_cluster_down (&c);
}

/* ------------------------------------------------------------------ main */

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: bench-endpoints [--bin DIR] [--services N,N...] [--pods-per N] [--flips N]\n"
             "                       [--quick] [--no-sync]\n"
             "  --services  Services per row (default 10,1000)\n"
             "  --pods-per  pods per Service (default 10)\n"
             "  --flips     Ready flips measured per row (default 200)\n"
             "  --quick     10,100 Services, 50 flips\n"
             "  --no-sync   hs-store --no-sync (labelled; not durable)\n");
}

int main (int argc, char **argv)
{
    bl_init ("bench-endpoints");
    const char *bin_dir = NULL, *services = "10,1000";
    int pods_per = 10, flips = 200;
    static struct option opts[] = {
        {"bin", required_argument, 0, 'b'},      {"services", required_argument, 0, 's'},
        {"pods-per", required_argument, 0, 'p'}, {"flips", required_argument, 0, 'f'},
        {"quick", no_argument, 0, 'q'},          {"no-sync", no_argument, 0, 'N'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'b': bin_dir = optarg; break;
        case 's': services = optarg; break;
        case 'p': pods_per = bl_parse_int ("--pods-per", optarg, 1, 100); break;
        case 'f': flips = bl_parse_int ("--flips", optarg, 1, 100000); break;
        case 'q':
            services = "10,100";
            flips = 50;
            break;
        case 'N': s_nosync = true; break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    for (int i = 0; i < B_N; i++)
        if (!(s_bin[i] = bl_find_bin (s_names[i], bin_dir)))
            bl_die ("cannot find %s (--bin, $HS_BIN, next to bench-endpoints); build it first",
                    s_names[i]);
    printf ("\n== bench-endpoints: a pod's Ready flip -> its Service's Endpoints (hs-store %s)\n"
            "   one hs-endpoints; %d pods per Service (container port http 8080, Running, Ready)\n"
            "   first pass: compute and send every Endpoints (its log); all written: start ->\n"
            "   the last Endpoints ADDED; resync pass: a full pass with nothing to write\n"
            "   (heartbeat full_pass_us, median and max of 5). hop: the Endpoints' commit - the\n"
            "   pod status' commit (store clock); e2e: status write sent -> Endpoints event\n"
            "   received here; cpu/flip: hs-endpoints' CPU time per flip.\n\n",
            s_nosync ? "--no-sync, NOT durable" : "durable", pods_per);
    printf ("%8s %7s %12s %12s %10s %10s | %6s %5s %9s %9s %9s %9s %9s %9s %8s\n", "services",
            "pods", "first pass", "all written", "resync", "(max)", "flips", "lost", "hop p50",
            "hop p99", "hop max", "e2e p50", "e2e p99", "e2e max", "cpu/flip");
    printf ("%8s %7s %12s %12s %10s %10s |\n", "", "", "", "(s)", "pass", "");
    _cleanup_free_ char *list = hs_strdup (services);
    char *save = NULL;
    for (char *t = strtok_r (list, ",", &save); t; t = strtok_r (NULL, ",", &save))
        s_row (bl_parse_int ("--services", t, 1, 100000), pods_per, flips);
    for (int i = 0; i < B_N; i++) free (s_bin[i]);
    return 0;
}
