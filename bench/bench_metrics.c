/*  bench_metrics.c: bench-metrics, the cost of hs-metrics' /metrics page for
 *  --pods P (default 10,000) pods on --nodes N (100) nodes, one container
 *  each.
 *
 *    1. render: metrics_render alone, in this process, on the same objects
 *       and NodeUsage hs-metrics would hold (no bus, no HTTP): median and
 *       p99 of --scrapes runs, and the page's size;
 *    2. live: hs-bus and hs-store (--no-sync) with the N Nodes and P pods
 *       written to the store (spec, then status: Running, Ready, a
 *       container status), hs-metrics following them, and this bench on the
 *       bus as every node's agent would be: a NodeUsage per node on
 *       usage.<node>/ every second (a real bus load, from one process).
 *       Once the page shows every pod and container, --scrapes GETs over
 *       loopback, one at a time, each timed from connect to the last byte;
 *       hs-metrics' CPU per scrape.
 *
 *  Prints tables; no pass/fail. The target (issue 18): <= 100 ms.
 */
#include "benchlib.h"
#include "hs_client.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"
#include "metrics_render.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 500

static int s_pods = 10000, s_nodes = 100, s_scrapes = 30;
static const char *s_bindir;

static void s_label (Hs__ObjectMeta *m, const char *k, const char *v)
{
    hs_pb_map_set ((void ***)&m->labels, &m->n_labels, &hs__object_meta__labels_entry__descriptor,
                   k, v);
}

/* Pod i on node i % nodes, as a Deployment's pod looks once running. */
static Hs__Object *s_pod (int i)
{
    char name[32], node[16];
    snprintf (name, sizeof name, "web-%d", i);
    snprintf (node, sizeof node, "n%d", i % s_nodes);
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
    s_label (o->pod->metadata, "app", "web");
    s_label (o->pod->metadata, "pod-template-hash", "5d8f7c9b6");
    Hs__PodSpec *sp = o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_set_str (&sp->node_name, node);
    Hs__Container *ct = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&ct->name, "app");
    hs_pb_set_str (&ct->image, "busybox");
    char *a0 = NULL, *a1 = NULL;
    hs_pb_set_str (&a0, "sleep");
    hs_pb_set_str (&a1, "3600");
    hs_pb_push ((void ***)&ct->command, &ct->n_command, a0);
    hs_pb_push ((void ***)&ct->command, &ct->n_command, a1);
    ct->resources = hs_pb_new (&hs__resource_requirements__descriptor);
    ct->resources->requests = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&ct->resources->requests->cpu, "100m");
    hs_pb_set_str (&ct->resources->requests->memory, "64Mi");
    hs_pb_push ((void ***)&sp->containers, &sp->n_containers, ct);
    Hs__PodStatus *st = o->pod->status = hs_pb_new (&hs__pod_status__descriptor);
    hs_pb_set_str (&st->phase, "Running");
    char ip[24];
    snprintf (ip, sizeof ip, "10.%d.%d.%d", 128 + i / 65536, (i / 256) % 256, i % 256);
    hs_pb_set_str (&st->pod_ip, ip);
    Hs__PodCondition *c = hs_pb_new (&hs__pod_condition__descriptor);
    hs_pb_set_str (&c->type, "Ready");
    hs_pb_set_str (&c->status, "True");
    hs_pb_push ((void ***)&st->conditions, &st->n_conditions, c);
    Hs__ContainerStatus *cs = hs_pb_new (&hs__container_status__descriptor);
    hs_pb_set_str (&cs->name, "app");
    cs->ready = true;
    hs_pb_push ((void ***)&st->container_statuses, &st->n_container_statuses, cs);
    return o;
}

static Hs__Object *s_node (int j)
{
    char name[16];
    snprintf (name, sizeof name, "n%d", j);
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, "", name);
    Hs__NodeStatus *st = o->node->status = hs_pb_new (&hs__node_status__descriptor);
    st->capacity = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&st->capacity->cpu, "64");
    hs_pb_set_str (&st->capacity->memory, "256Gi");
    hs_pb_set_str (&st->capacity->pods, "250");
    Hs__NodeCondition *c = hs_pb_new (&hs__node_condition__descriptor);
    hs_pb_set_str (&c->type, "Ready");
    hs_pb_set_str (&c->status, "True");
    hs_pb_push ((void ***)&st->conditions, &st->n_conditions, c);
    return o;
}

/* Node j's usage: its pods' one container each, figures moving with t. */
static Hs__NodeUsage *s_usage (int j, uint64_t t)
{
    Hs__NodeUsage *u = hs_pb_new (&hs__node_usage__descriptor);
    char name[32];
    snprintf (name, sizeof name, "n%d", j);
    hs_pb_set_str (&u->node, name);
    u->timestamp = hs_now_ns ();
    u->window_ms = u->interval_ms = 1000;
    u->cpu_usage_core_ns = t * 3000000000ULL;
    u->memory_working_set_bytes = 8LL << 30;
    for (int i = j; i < s_pods; i += s_nodes) {
        Hs__PodUsage *p = hs_pb_new (&hs__pod_usage__descriptor);
        snprintf (name, sizeof name, "web-%d", i);
        hs_pb_set_str (&p->namespace_, "default");
        hs_pb_set_str (&p->name, name);
        Hs__ContainerUsage *c = hs_pb_new (&hs__container_usage__descriptor);
        hs_pb_set_str (&c->name, "app");
        c->cpu_usage_core_ns = t * 25000000ULL + (uint64_t)i;
        c->cpu_usage_nanocores = 25000000;
        c->memory_working_set_bytes = 20000000 + i;
        c->memory_usage_bytes = 30000000 + i;
        c->started_at = 1700000000000000000LL;
        hs_pb_push ((void ***)&p->containers, &p->n_containers, c);
        hs_pb_push ((void ***)&u->pods, &u->n_pods, p);
    }
    return u;
}

static void s_print (const char *what, bl_samples_t *s, size_t bytes, const char *extra)
{
    char a[32], b[32], c[32];
    bl_samples_sort (s);
    printf ("| %-34s | %9s | %9s | %9s | %10s | %s\n", what,
            bl_fmt_ns (bl_pct (s, 50), a, sizeof a), bl_fmt_ns (bl_pct (s, 99), b, sizeof b),
            bl_fmt_ns (bl_pct (s, 100), c, sizeof c),
            bl_fmt_count ((double)bytes, (char[32]){0}, 32), extra);
}

/* ------------------------------------------------------------------ 1. render */

static int64_t s_cpu_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void s_render_only (void)
{
    Hs__Object **pods = hs_calloc ((size_t)s_pods, sizeof *pods);
    Hs__Object **nodes = hs_calloc ((size_t)s_nodes, sizeof *nodes);
    Hs__NodeUsage **usage = hs_calloc ((size_t)s_nodes, sizeof *usage);
    for (int i = 0; i < s_pods; i++) pods[i] = s_pod (i);
    for (int j = 0; j < s_nodes; j++) nodes[j] = s_node (j), usage[j] = s_usage (j, 100);
    metrics_input_t in = {.pods = (const Hs__Object *const *)pods,
                          .n_pods = (size_t)s_pods,
                          .nodes = (const Hs__Object *const *)nodes,
                          .n_nodes = (size_t)s_nodes,
                          .usage = (const Hs__NodeUsage *const *)usage,
                          .n_usage = (size_t)s_nodes};
    bl_samples_t s = {0}, cpu = {0};
    size_t bytes = 0;
    for (int r = 0; r < s_scrapes; r++) {
        hs_buf_t b = {0};
        int64_t t0 = hs_mono_ns (), c0 = s_cpu_ns ();
        metrics_render (&in, &b);
        bl_samples_add (&s, (uint64_t)(hs_mono_ns () - t0));
        bl_samples_add (&cpu, (uint64_t)(s_cpu_ns () - c0));
        bytes = b.len;
        hs_buf_free (&b);
    }
    bl_samples_sort (&cpu);
    char extra[64], a[32];
    snprintf (extra, sizeof extra, "in process, CPU p50 %s",
              bl_fmt_ns (bl_pct (&cpu, 50), a, sizeof a));
    s_print ("render only (metrics_render)", &s, bytes, extra);
    bl_samples_free (&s);
    bl_samples_free (&cpu);
    for (int i = 0; i < s_pods; i++) hs_pb_free (pods[i]);
    for (int j = 0; j < s_nodes; j++) hs_pb_free (nodes[j]), hs_pb_free (usage[j]);
    free (pods), free (nodes), free (usage);
}

/* ------------------------------------------------------------------ 2. live */

static void s_write (hs_client_t *cl, Hs__Op op, Hs__Object **objs, int n)
{
    for (int base = 0; base < n; base += BATCH) {
        int k = n - base < BATCH ? n - base : BATCH;
        Hs__Write **w = hs_calloc ((size_t)k, sizeof *w);
        for (int i = 0; i < k; i++) w[i] = hs_write_new (op, hs_pb_dup (objs[base + i]));
        Hs__Ack *ack = NULL;
        hs_call_opts_t o = {.timeout_ms = 60000};
        int r = hs_client_call (cl, w, (size_t)k, &o, &ack);
        if (r < 0 || ack->code != HS__CODE__CODE_OK)
            bl_die ("cannot write: %s", r < 0 ? strerror (-r) : ack->message);
        hs_pb_free (ack);
        for (int i = 0; i < k; i++) hs_pb_free (w[i]);
        free (w);
    }
}

static void s_publish_usage (hs_client_t *cl, uint64_t t)
{
    for (int j = 0; j < s_nodes; j++) {
        Hs__Envelope env = HS__ENVELOPE__INIT;
        env.body_case = HS__ENVELOPE__BODY_USAGE;
        env.usage = s_usage (j, t);
        _cleanup_free_ char *topic = hs_sprintf ("usage.%s/", env.usage->node);
        if (hs_bus_publish (hs_client_bus (cl), topic, &env) < 0) bl_die ("cannot publish usage");
        hs_pb_free (env.usage);
        free (env.sender);
    }
    hs_client_process (cl, 0);
}

/* GET /metrics: the body in *ret (caller frees), its length; -1 on error. */
static long s_get (int port, char **ret)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
    if (fd < 0 || connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        write (fd, req, sizeof req - 1) != (ssize_t)sizeof req - 1) {
        if (fd >= 0) close (fd);
        return -1;
    }
    hs_buf_t b = {0};
    char chunk[65536];
    ssize_t n;
    while ((n = read (fd, chunk, sizeof chunk)) > 0) hs_buf_append (&b, chunk, (size_t)n);
    close (fd);
    char *body = b.data ? strstr (b.data, "\r\n\r\n") : NULL;
    long len = body ? (long)(b.len - (size_t)(body + 4 - b.data)) : -1;
    *ret = hs_buf_take (&b);
    return len;
}

static size_t s_count (const char *page, const char *prefix)
{
    size_t n = 0;
    for (const char *p = page; (p = strstr (p, prefix)); p++) n++;
    return n;
}

/* hs-metrics' CPU per second over 5 s of usage from every node, no scrape. */
static double s_follow_cost (hs_client_t *cl, pid_t pid, uint64_t *t)
{
    double c0 = bl_cpu_s (pid);
    int64_t start = hs_mono_ns ();
    for (int k = 0; k < 5; k++) {
        s_publish_usage (cl, (*t)++);
        bl_sleep_until (start + (k + 1) * 1000000000LL);
    }
    return (bl_cpu_s (pid) - c0) * 1000.0 / 5;
}

static void s_live (char **bin)
{
    char *dir = bl_tmpdir ("metrics");
    bl_plane_t plane;
    bl_plane_start (&plane, dir, bin[0], bin[1], true);
    hs_client_t *cl = NULL;
    if (hs_client_new (plane.bus, "bench-metrics", NULL, 10000, &cl) < 0) bl_die ("cannot join");
    Hs__Object **objs = hs_calloc ((size_t)(s_pods > s_nodes ? s_pods : s_nodes), sizeof *objs);
    for (int j = 0; j < s_nodes; j++) objs[j] = s_node (j);
    s_write (cl, HS__OP__OP_CREATE, objs, s_nodes);
    for (int j = 0; j < s_nodes; j++) hs_pb_free (objs[j]);
    for (int i = 0; i < s_pods; i++) objs[i] = s_pod (i);
    s_write (cl, HS__OP__OP_CREATE, objs, s_pods);
    s_write (cl, HS__OP__OP_UPDATE_STATUS, objs, s_pods);
    for (int i = 0; i < s_pods; i++) hs_pb_free (objs[i]);
    free (objs);
    int port = bl_free_port (false);
    _cleanup_free_ char *listen = hs_sprintf ("127.0.0.1:%d", port);
    _cleanup_free_ char *log = hs_sprintf ("%s/hs-metrics.log", dir);
    char *argv[] = {bin[2], "--bus", plane.bus, "--insecure", "--listen", listen, NULL};
    pid_t pid = bl_spawn (argv, log);
    char *page = NULL;
    uint64_t t = 1;
    int64_t deadline = hs_mono_ns () + 120 * 1000000000LL;
    while (true) { /* until the page shows every pod and container */
        s_publish_usage (cl, t++);
        free (page), page = NULL;
        if (s_get (port, &page) > 0 &&
            s_count (page, "\ncontainer_cpu_usage_seconds_total{") == (size_t)s_pods &&
            s_count (page, "\nkube_pod_info{") == (size_t)s_pods)
            break;
        if (hs_mono_ns () > deadline) {
            bl_tail_log (log, 20);
            bl_die ("hs-metrics did not show %d pods within 120 s", s_pods);
        }
        bl_sleep_until (hs_mono_ns () + 1000000000LL);
    }
    double follow_ms = s_follow_cost (cl, pid, &t);
    bl_samples_t s = {0};
    long bytes = 0;
    double cpu0 = bl_cpu_s (pid);
    for (int r = 0; r < s_scrapes; r++) {
        int64_t t0 = hs_mono_ns ();
        free (page), page = NULL;
        bytes = s_get (port, &page);
        bl_samples_add (&s, (uint64_t)(hs_mono_ns () - t0));
        s_publish_usage (cl, t++); /* the agents keep reporting meanwhile */
    }
    char extra[96];
    snprintf (extra, sizeof extra, "loopback HTTP, %.1f ms hs-metrics CPU/scrape",
              (bl_cpu_s (pid) - cpu0) * 1000.0 / s_scrapes);
    s_print ("GET /metrics, connect to last byte", &s, (size_t)(bytes > 0 ? bytes : 0), extra);
    bl_samples_free (&s);
    printf ("\nhs-metrics following %d NodeUsage/s (%d pods' containers) and the store, no "
            "scrapes: %.1f ms CPU per second\n",
            s_nodes, s_pods, follow_ms);
    free (page);
    hs_client_destroy (&cl);
    bl_cleanup ();
    bl_plane_free (&plane);
    free (dir);
}

int main (int argc, char **argv)
{
    bl_init ("bench-metrics");
    static struct option opts[] = {{"pods", required_argument, 0, 'p'},
                                   {"nodes", required_argument, 0, 'n'},
                                   {"scrapes", required_argument, 0, 's'},
                                   {"bin", required_argument, 0, 'b'},
                                   {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
        if (c == 'p')
            s_pods = bl_parse_int ("--pods", optarg, 1, 200000);
        else if (c == 'n')
            s_nodes = bl_parse_int ("--nodes", optarg, 1, 5000);
        else if (c == 's')
            s_scrapes = bl_parse_int ("--scrapes", optarg, 1, 10000);
        else if (c == 'b')
            s_bindir = optarg;
        else {
            fprintf (stderr,
                     "usage: bench-metrics [--pods N] [--nodes N] [--scrapes N] [--bin DIR]\n");
            return 2;
        }
    }
    static const char *const names[] = {"hs-bus", "hs-store", "hs-metrics"};
    char *bin[3];
    bl_find_bins (names, 3, s_bindir, bin);
    printf ("bench-metrics: %d pods on %d nodes, one container each; %d scrapes\n\n", s_pods,
            s_nodes, s_scrapes);
    printf ("| %-34s | %9s | %9s | %9s | %10s | %s\n", "what", "p50", "p99", "max", "bytes", "how");
    printf (
        "|------------------------------------|-----------|-----------|-----------|------------|"
        "-----\n");
    s_render_only ();
    s_live (bin);
    for (int i = 0; i < 3; i++) free (bin[i]);
    return 0;
}
