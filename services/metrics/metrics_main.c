/*  metrics_main.c: hs-metrics' wiring (docs/architecture.md §25): flags, the
 *  bus (sa:metrics, read-only), what it follows, its heartbeat, and the
 *  HTTP side.
 *
 *  It follows every heartbeat (hb.), every node's usage (usage.) and a
 *  snapshot-then-follow watch of the pods, nodes, Deployments, ReplicaSets,
 *  Jobs and HorizontalPodAutoscalers, and renders /metrics from that cache
 *  at each scrape. Nothing else: kill -9 and a restart lose nothing that is
 *  not back within a heartbeat interval, and several run side by side.
 *  A scrape while the store is away is answered from the cache, with the
 *  store's up at 0 once its heartbeats stop.
 */
#include "hs_client.h"
#include "hs_daemon.h"
#include "hs_log.h"
#include "hs_notify.h"
#include "hs_util.h"
#include "metrics_cache.h"
#include "metrics_http.h"
#include "metrics_render.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_LISTEN "127.0.0.1:9464"
#define MS             1000000LL

enum {
    OPT_BUS = 0x4d00,
    OPT_INSTANCE,
    OPT_CREDENTIAL,
    OPT_INSECURE,
    OPT_LISTEN,
    OPT_HEARTBEAT_MS,
    OPT_FORGET,
};

/* The render time histogram of its own heartbeat, in seconds. */
static const double s_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
#define N_BOUNDS (sizeof s_bounds / sizeof s_bounds[0])

typedef struct {
    const char *bus, *instance, *credential, *listen;
    bool insecure;
    int64_t hb_ns, forget_ns;
    hs_loop_t *loop;
    hs_client_t *client;
    hs_watch_t *watch;
    metrics_cache_t *cache;
    metrics_http_t *http;
    hs_loop_timer_t *hb_timer;
    char host[256];
    int64_t started_at_ns;
    bool synced;
    uint64_t garbage;    /* messages whose body did not fit their topic */
    uint64_t page_bytes; /* the last page's size */
    uint64_t counts[N_BOUNDS], count;
    double sum;
} self_t;

static void s_usage (FILE *f)
{
    fprintf (
        f,
        "usage: hs-metrics [--bus ADDR] [--credential FILE | --insecure] [--listen ADDR:PORT]\n"
        "                  [--instance ID] [--heartbeat-ms MS] [--forget SECONDS]\n"
        "Serves the cluster's metrics to Prometheus (GET /metrics, text format 0.0.4):\n"
        "the components' heartbeats, the nodes' and containers' resource usage, and\n"
        "the workloads' state, named as cAdvisor and kube-state-metrics name them.\n"
        "  --bus ADDR          the bus (default $HS_BUS, then %s)\n"
        "  --credential FILE   its credential, sa:metrics (default $HS_CREDENTIAL)\n"
        "  --insecure          a bus without authentication (also HS_INSECURE=1)\n"
        "  --listen ADDR:PORT  where to serve /metrics and /healthz (default %s;\n"
        "                      :PORT for every IPv4 address, port 0 for any free one)\n"
        "  --instance ID       this instance's id on the bus (default: random)\n"
        "  --heartbeat-ms MS   its own heartbeat, hb.metrics.<id> (default 1000)\n"
        "  --forget SECONDS    drop the series of an instance or node not heard from\n"
        "                      for this long (default 300; up is 0 before that)\n",
        HS_BUS_DEFAULT, DEFAULT_LISTEN);
}

static int s_flag (void *arg, int ch, const char *value)
{
    self_t *self = arg;
    switch (ch) {
    case OPT_BUS: self->bus = value; return 0;
    case OPT_INSTANCE: self->instance = value; return 0;
    case OPT_CREDENTIAL: self->credential = value; return 0;
    case OPT_INSECURE: self->insecure = true; return 0;
    case OPT_LISTEN: {
        char sa[128];
        unsigned len;
        if (metrics_http_parse (value, sa, &len) < 0) {
            fprintf (stderr, "hs-metrics: --listen: not an address ADDR:PORT: %s\n", value);
            return -1;
        }
        self->listen = value;
        return 0;
    }
    case OPT_HEARTBEAT_MS:
        return hs_daemon_ms ("hs-metrics", "--heartbeat-ms", value, 60000, &self->hb_ns);
    case OPT_FORGET:
        return hs_daemon_seconds ("hs-metrics", "--forget", value, 86400, &self->forget_ns);
    default: return -1;
    }
}

static int s_check (void *arg, int argc, char **argv)
{
    self_t *self = arg;
    if (argc > 0) {
        fprintf (stderr, "hs-metrics: unexpected argument %s\n", argv[0]);
        return -1;
    }
    if (self->forget_ns < 10 * 1000 * MS) {
        fprintf (stderr, "hs-metrics: --forget: at least 10 seconds\n");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ the bus */

static void s_on_msg (void *arg, const char *topic, const Hs__Envelope *env)
{
    self_t *self = arg;
    int r = metrics_cache_add (self->cache, topic, env, hs_mono_ns ());
    if (r == 0) return;
    self->garbage++;
    if (r == -ENOSPC)
        hs_log_once (HS_LOG_WARN, "metrics:full",
                     "%s: already %d instances or nodes: ignored (counted in bad_messages, not "
                     "logged again)",
                     topic, METRICS_CACHE_MAX);
    else
        hs_log_once (HS_LOG_WARN, "metrics:bad",
                     "a %s on %s does not fit its topic: ignored (counted in bad_messages, not "
                     "logged again)",
                     env->body_case == HS__ENVELOPE__BODY_HEARTBEAT ? "ComponentHeartbeat"
                     : env->body_case == HS__ENVELOPE__BODY_USAGE   ? "NodeUsage"
                                                                    : "message",
                     topic);
}

static void s_heartbeat (void *arg)
{
    self_t *self = arg;
    hs_loop_timer_set (self->hb_timer, hs_mono_ns () + self->hb_ns);
    if (!self->synced && hs_watch_synced (self->watch)) {
        self->synced = true;
        log_info ("synced at revision %lld", (long long)hs_watch_revision (self->watch));
    }
    const char *names[] = {"scrapes", "bad_messages"};
    uint64_t values[] = {metrics_http_scrapes (self->http), self->garbage};
    Hs__Counter cs[2], *cp[2];
    Hs__ComponentHeartbeat hb = HS__COMPONENT_HEARTBEAT__INIT;
    hs_heartbeat_counters (&hb, cs, cp, names, values, 2);
    Hs__Gauge g[2] = {HS__GAUGE__INIT, HS__GAUGE__INIT}, *gp[2] = {&g[0], &g[1]};
    g[0].name = "page_bytes";
    g[0].value = (double)self->page_bytes;
    g[1].name = "cache_entries";
    g[1].value = (double)metrics_cache_size (self->cache);
    hb.gauges = gp;
    hb.n_gauges = 2;
    Hs__Histogram h = HS__HISTOGRAM__INIT, *hp = &h;
    h.name = "render_duration_seconds";
    h.bounds = (double *)s_bounds;
    h.n_bounds = N_BOUNDS;
    h.counts = self->counts;
    h.n_counts = N_BOUNDS;
    h.sum = self->sum;
    h.count = self->count;
    hb.histograms = &hp;
    hb.n_histograms = 1;
    hb.component = "hs-metrics";
    hb.instance = (char *)hs_client_id (self->client);
    hb.host = self->host;
    hb.started_at_ns = self->started_at_ns;
    hb.observed_revision = hs_watch_revision (self->watch);
    hb.interval_ms = (uint32_t)(self->hb_ns / MS);
    hb.garbage = hs_bus_garbage (hs_client_bus (self->client)) + self->garbage;
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    _cleanup_free_ char *topic = hs_sprintf ("hb.metrics.%s", hs_client_id (self->client));
    int r = hs_bus_publish (hs_client_bus (self->client), topic, &env);
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
    if (r < 0)
        hs_log_once (HS_LOG_WARN, "metrics:hb", "cannot publish on %s: %s (not logged again)",
                     topic, strerror (-r));
}

/* ------------------------------------------------------------------ the page */

static char *s_page (void *arg, size_t *ret_len)
{
    self_t *self = arg;
    int64_t t0 = hs_mono_ns ();
    metrics_input_t in = {0};
    metrics_cache_input (self->cache, t0, &in);
    /* one pass over the watch's cache, split by kind (a list per kind
     * would walk every key six times) */
    const Hs__Object **all = NULL;
    size_t n = hs_watch_list (self->watch, HS_KIND_NONE, &all);
    const Hs__Object **by = hs_malloc ((6 * n + 1) * sizeof *by);
    const Hs__Object **pods = by, **nodes = by + n, **deploys = by + 2 * n, **rss = by + 3 * n,
                     **jobs = by + 4 * n, **hpas = by + 5 * n;
    for (size_t i = 0; i < n; i++) {
        switch (hs_obj_kind (all[i])) {
        case HS_KIND_POD: pods[in.n_pods++] = all[i]; break;
        case HS_KIND_NODE: nodes[in.n_nodes++] = all[i]; break;
        case HS_KIND_DEPLOYMENT: deploys[in.n_deployments++] = all[i]; break;
        case HS_KIND_REPLICASET: rss[in.n_replicasets++] = all[i]; break;
        case HS_KIND_JOB: jobs[in.n_jobs++] = all[i]; break;
        case HS_KIND_HPA: hpas[in.n_hpas++] = all[i]; break;
        default: break;
        }
    }
    in.pods = pods, in.nodes = nodes, in.deployments = deploys, in.replicasets = rss;
    in.jobs = jobs, in.hpas = hpas;
    hs_buf_t b = {0};
    hs_buf_append (&b, "", 0);
    metrics_render (&in, &b);
    free (by);
    free (all);
    double s = (double)(hs_mono_ns () - t0) / 1e9;
    for (size_t i = 0; i < N_BOUNDS; i++)
        if (s <= s_bounds[i]) self->counts[i]++;
    self->count++;
    self->sum += s;
    self->page_bytes = b.len;
    *ret_len = b.len;
    return hs_buf_take (&b);
}

/* ------------------------------------------------------------------ setup */

static int s_setup (void *arg, hs_loop_t *loop)
{
    self_t *self = arg;
    self->loop = loop;
    self->started_at_ns = hs_now_ns ();
    /* A page is one buffer of some 2 KiB a pod, made and freed at every
     * scrape: from the heap (glibc's largest mmap threshold) and kept there
     * (no trim below 256 MiB), it is not faulted in afresh each time. */
    mallopt (M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt (M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    if (gethostname (self->host, sizeof self->host - 1) < 0)
        snprintf (self->host, sizeof self->host, "?");
    if (self->insecure)
        hs_bus_use_insecure ();
    else if (self->credential)
        hs_bus_use_credential (self->credential);
    int r = hs_client_new (self->bus, "hs-metrics", self->instance, 0, &self->client);
    if (r == 0) r = hs_client_attach (self->client, loop);
    if (r < 0) {
        log_error ("cannot join the bus: %s", strerror (-r));
        return 1;
    }
    static const hs_kind_t kinds[] = {HS_KIND_POD,        HS_KIND_NODE, HS_KIND_DEPLOYMENT,
                                      HS_KIND_REPLICASET, HS_KIND_JOB,  HS_KIND_HPA};
    hs_watch_opts_t wo = {.kinds = kinds, .n_kinds = HS_ARRAY_LEN (kinds)};
    self->watch = hs_client_watch (self->client, &wo);
    self->cache = metrics_cache_new (self->forget_ns);
    if (!self->watch || hs_client_on (self->client, "hb.", s_on_msg, self) < 0 ||
        hs_client_on (self->client, "usage.", s_on_msg, self) < 0) {
        log_error ("cannot follow the bus");
        return 1;
    }
    if (metrics_http_new (loop, self->listen, s_page, self, &self->http) < 0) return 1;
    self->hb_timer = hs_loop_timer (loop, hs_mono_ns (), s_heartbeat, self);
    log_info ("serving /metrics on http://%s (port %u) as %s", self->listen,
              (unsigned)metrics_http_port (self->http), hs_client_id (self->client));
    hs_notify_ready ("serving /metrics");
    return 0;
}

static void s_teardown (void *arg)
{
    self_t *self = arg;
    hs_loop_timer_free (&self->hb_timer);
    metrics_http_destroy (&self->http);
    hs_client_destroy (&self->client);
    metrics_cache_destroy (&self->cache);
}

static const struct option s_options[] = {{"bus", required_argument, 0, OPT_BUS},
                                          {"instance", required_argument, 0, OPT_INSTANCE},
                                          {"credential", required_argument, 0, OPT_CREDENTIAL},
                                          {"insecure", no_argument, 0, OPT_INSECURE},
                                          {"listen", required_argument, 0, OPT_LISTEN},
                                          {"heartbeat-ms", required_argument, 0, OPT_HEARTBEAT_MS},
                                          {"forget", required_argument, 0, OPT_FORGET},
                                          {0, 0, 0, 0}};

static const hs_daemon_t s_program = {.name = "hs-metrics",
                                      .usage = s_usage,
                                      .options = s_options,
                                      .flag = s_flag,
                                      .check = s_check,
                                      .setup = s_setup,
                                      .teardown = s_teardown};

int main (int argc, char **argv)
{
    self_t self = {.listen = DEFAULT_LISTEN, .hb_ns = 1000 * MS, .forget_ns = 300000 * MS};
    return hs_daemon_main (&s_program, &self, argc, argv);
}
