/*  proxy_main.c: hs-proxy, one per node (like kube-proxy in its nftables
 *  mode): flags, the bus, the loop.
 *
 *  It runs in the node's network namespace and owns exactly one nftables
 *  table there, `ip homeostat` (proxy_render.h has the layout, proxy.h the
 *  syncs). Every instance needs every Service and Endpoints, so it is not an
 *  hs_ctrl controller (no sharding): it watches both kinds through
 *  hs_client, snapshot then follow, as the agent watches its pods. A watch
 *  event only marks its Service; the loop's turn runs the proxier
 *  (proxy_work), which syncs at most once per --min-sync-period.
 *
 *  Nothing is written before the watch has its first snapshot: a restarted
 *  hs-proxy leaves the table it finds serving until it can replace it
 *  whole. On a clean stop the table stays too (kube-proxy does the same:
 *  the rules keep serving); `hs-proxy --cleanup` deletes it.
 *
 *  Heartbeats on hb.proxy.<node> carry the sync counters.
 */
#include "proxy.h"
#include "proxy_nft.h"

#include "hs_notify.h"
#include "hs_client.h"
#include "hs_daemon.h"
#include "hs_log.h"
#include "hs_metric.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS           1000000LL
#define JOIN_WAIT_MS 1000

typedef struct {
    const char *bus;
    const char *node;
    hs_net_conf_t net;
    proxy_opts_t opts;
    int64_t heartbeat_ns;
    bool cleanup;
    int64_t started_at_ns;
    proxy_t *proxy;
    hs_client_t *client;
    hs_watch_t *watch;
    bool synced;
    hs_loop_t *loop;
    hs_loop_timer_t *join;
    hs_loop_timer_t *heartbeat;
    hs_loop_turn_t *turn;
    uint64_t bad_services;
} self_t;

static void s_usage (FILE *f)
{
    fprintf (
        f, "usage: hs-proxy [--bus ADDR] [--node-name NAME] [--cluster-cidr CIDR]\n"
           "                [--service-cidr CIDR] [--min-sync-period MS] [--sync-period S]\n"
           "                [--heartbeat-ms MS] [--no-masquerade-egress]\n"
           "       hs-proxy --cleanup\n"
           "Keeps this network namespace's nftables table `ip homeostat` true to the\n"
           "cluster's Services and Endpoints (kube-proxy's nftables mode).\n"
           "  --node-name NAME        this node (default: the host name): heartbeats\n"
           "  --cluster-cidr CIDR     pods' addresses (default " HS_NET_CLUSTER_CIDR "): service\n"
           "                          traffic from outside it is masqueraded\n"
           "  --service-cidr CIDR     ClusterIPs (default " HS_NET_SERVICE_CIDR "): unknown ports\n"
           "                          are rejected, the rest of it dropped\n"
           "  --node-cidr-mask-size N, --cluster-domain D  accepted, as every component\n"
           "  --min-sync-period MS    at most one sync per MS (default 0: each batch of\n"
           "                          watch events is applied at once; kube-proxy's\n"
           "                          default is 1000)\n"
           "  --sync-period S         a full resync every S seconds, repairing what else\n"
           "                          changed the table (default 30)\n"
           "  --heartbeat-ms MS       hb.proxy.<node> interval (default 1000)\n"
           "  --no-masquerade-egress  leave pods' traffic to outside the cluster CIDR alone\n"
           "  --cleanup               delete the table and exit (rules stay after a stop)\n");
}

/* ------------------------------------------------------------------ the watch */

/* Service or Endpoints key changed: what that Service wants now. */
static void s_mark (self_t *self, const char *ns, const char *name)
{
    const Hs__Object *so = hs_watch_get (self->watch, HS_KIND_SERVICE, ns, name);
    const Hs__Object *eo = hs_watch_get (self->watch, HS_KIND_ENDPOINTS, ns, name);
    _cleanup_free_ char *key = hs_sprintf ("%s/%s", ns, name);
    proxy_svc_t *svc = NULL;
    const char *why = NULL;
    if (so && proxy_svc_build (so->service, eo ? eo->endpoints : NULL, &svc, &why) < 0) {
        self->bad_services++;
        hs_log_once (HS_LOG_WARN, key, "service %s: %s: no rules", key, why);
    }
    proxy_set (self->proxy, key, svc);
}

static void s_on_event (void *arg, Hs__EventType type, const Hs__Object *obj, const Hs__Object *old)
{
    (void)type;
    (void)old;
    self_t *self = arg;
    const Hs__ObjectMeta *md = NULL;
    if (obj->kind_case == HS__OBJECT__KIND_SERVICE && obj->service)
        md = obj->service->metadata;
    else if (obj->kind_case == HS__OBJECT__KIND_ENDPOINTS && obj->endpoints)
        md = obj->endpoints->metadata;
    if (!md || hs_empty (md->name)) return;
    s_mark (self, hs_s (md->namespace_), md->name);
}

/* First snapshot in: every Service, then the first (full) sync. */
static void s_on_synced (self_t *self)
{
    const Hs__Object **objs = NULL;
    size_t n = hs_watch_list (self->watch, HS_KIND_SERVICE, &objs);
    for (size_t i = 0; i < n; i++) {
        const Hs__ObjectMeta *md = objs[i]->service ? objs[i]->service->metadata : NULL;
        if (md && !hs_empty (md->name)) s_mark (self, hs_s (md->namespace_), md->name);
    }
    free (objs);
    self->synced = true;
    log_info ("synced: %zu services", n);
    hs_notify_ready ("synced");
}

/* ------------------------------------------------------------------ the loop */

static int64_t s_turn (void *arg)
{
    self_t *self = arg;
    if (!self->synced) {
        if (!self->watch || !hs_watch_synced (self->watch)) return HS_NEVER;
        s_on_synced (self);
    }
    return proxy_work (self->proxy, hs_mono_ns ());
}

static void s_heartbeat (self_t *self)
{
    const proxy_stats_t *st = proxy_stats (self->proxy);
    Hs__ComponentHeartbeat hb = HS__COMPONENT_HEARTBEAT__INIT;
    hb.component = "hs-proxy";
    hb.instance = (char *)self->node;
    char host[HOST_NAME_MAX + 1] = "";
    gethostname (host, sizeof host);
    hb.host = host;
    hb.started_at_ns = self->started_at_ns;
    hb.observed_revision = self->watch ? hs_watch_revision (self->watch) : 0;
    hb.interval_ms = (uint32_t)(self->heartbeat_ns / MS);
    hb.owned = proxy_count (self->proxy);
    hb.total = proxy_count (self->proxy);
    hb.garbage = hs_bus_garbage (hs_client_bus (self->client));
    char *nodes[1] = {(char *)self->node};
    hb.nodes = nodes;
    hb.n_nodes = 1;
    const char *names[] = {"syncs_full", "syncs_partial",    "sync_errors",    "ct_deleted",
                           "ct_errors",  "services_skipped", "resyncs_skipped"};
    const uint64_t values[] = {st->syncs_full,     st->syncs_partial,
                               st->sync_errors,    st->ct_deleted,
                               st->ct_errors,      st->skipped + self->bad_services,
                               st->resyncs_skipped};
    _Static_assert(HS_ARRAY_LEN (names) == HS_ARRAY_LEN (values), "a name per counter");
    Hs__Counter cs[HS_ARRAY_LEN (names)];
    Hs__Counter *cp[HS_ARRAY_LEN (names)];
    hs_heartbeat_counters (&hb, cs, cp, names, values, HS_ARRAY_LEN (names));
    /* the last sync's duration goes down as well as up: a gauge */
    const char *gnames[] = {"last_sync_us"};
    const double gvalues[] = {(double)(st->last_sync_ns / 1000)};
    Hs__Gauge gs[HS_ARRAY_LEN (gnames)];
    Hs__Gauge *gp[HS_ARRAY_LEN (gnames)];
    hs_metric_gauges (&hb.gauges, &hb.n_gauges, gs, gp, gnames, gvalues, HS_ARRAY_LEN (gnames));
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    _cleanup_free_ char *topic = hs_sprintf ("hb.proxy.%s", self->node);
    hs_bus_publish (hs_client_bus (self->client), topic, &env);
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
}

static void s_on_heartbeat (void *arg)
{
    self_t *self = arg;
    s_heartbeat (self);
    hs_loop_timer_set (self->heartbeat, hs_mono_ns () + self->heartbeat_ns);
}

/* Joins the bus (a second at most per try, so a stop signal is heard
 * between tries), then watches Services and Endpoints. */
static void s_on_join (void *arg)
{
    self_t *self = arg;
    int r = hs_client_new (self->bus, "hs-proxy", self->node, JOIN_WAIT_MS, &self->client);
    if (r == -ETIMEDOUT) {
        hs_loop_timer_set (self->join, hs_mono_ns ());
        return;
    }
    if (r == 0) r = hs_client_attach (self->client, self->loop);
    if (r < 0) {
        log_error ("cannot join the bus: %s", strerror (-r));
        hs_loop_exit (self->loop, 1);
        return;
    }
    hs_kind_t kinds[] = {HS_KIND_SERVICE, HS_KIND_ENDPOINTS};
    hs_watch_opts_t wo = {.kinds = kinds, .n_kinds = 2, .fn = s_on_event, .arg = self};
    self->watch = hs_client_watch (self->client, &wo);
    self->heartbeat = hs_loop_timer (self->loop, hs_mono_ns (), s_on_heartbeat, self);
}

/* ------------------------------------------------------------------ the daemon */

static const struct option s_options[] = {
    {"bus", required_argument, NULL, 'b'},
    {"node-name", required_argument, NULL, 'n'},
    {"cluster-cidr", required_argument, NULL, 'C'},
    {"node-cidr-mask-size", required_argument, NULL, 'M'},
    {"service-cidr", required_argument, NULL, 'S'},
    {"cluster-domain", required_argument, NULL, 'D'},
    {"min-sync-period", required_argument, NULL, 'm'},
    {"sync-period", required_argument, NULL, 's'},
    {"heartbeat-ms", required_argument, NULL, 'H'},
    {"no-masquerade-egress", no_argument, NULL, 'E'},
    {"cleanup", no_argument, NULL, 'X'},
    {NULL, 0, NULL, 0},
};

static int s_net_flag (self_t *self, const char *flag, const char *v)
{
    const char *why = NULL;
    if (hs_net_flag (&self->net, flag, v, &why) == 0) return 0;
    fprintf (stderr, "hs-proxy: --%s: %s: %s\n", flag, why ? why : "invalid", v);
    return -1;
}

static int s_flag (void *arg, int ch, const char *v)
{
    self_t *self = arg;
    const char *prog = "hs-proxy";
    int64_t n;
    switch (ch) {
    case 'b': self->bus = v; return 0;
    case 'n':
        if (strlen (v) <= 200 &&
            strspn (v, "abcdefghijklmnopqrstuvwxyz0123456789-.") == strlen (v) && *v) {
            self->node = v;
            return 0;
        }
        fprintf (stderr, "hs-proxy: --node-name: lower-case letters, digits, '-' and '.': %s\n", v);
        return -1;
    case 'C': return s_net_flag (self, "cluster-cidr", v);
    case 'M': return s_net_flag (self, "node-cidr-mask-size", v);
    case 'S': return s_net_flag (self, "service-cidr", v);
    case 'D': return s_net_flag (self, "cluster-domain", v);
    case 'm':
        if (hs_daemon_int (prog, "--min-sync-period", v, 0, 600000, &n) < 0) return -1;
        self->opts.min_sync_ns = n * MS;
        return 0;
    case 's':
        if (hs_daemon_int (prog, "--sync-period", v, 1, 86400, &n) < 0) return -1;
        self->opts.sync_ns = n * 1000 * MS;
        return 0;
    case 'H': return hs_daemon_ms (prog, "--heartbeat-ms", v, 3600000, &self->heartbeat_ns);
    case 'E': self->opts.render.masquerade_egress = false; return 0;
    case 'X': self->cleanup = true; return 0;
    default: return -1;
    }
}

static int s_check (void *arg, int argc, char **argv)
{
    self_t *self = arg;
    (void)argv;
    if (argc != 0) {
        s_usage (stderr);
        return -1;
    }
    const char *why = NULL;
    if (hs_net_conf_check (&self->net, &why) < 0) {
        fprintf (stderr, "hs-proxy: the cluster's address plan: %s\n", why);
        return -1;
    }
    self->opts.render.cluster = self->net.cluster;
    self->opts.render.service = self->net.service;
    return 0;
}

static int s_setup (void *arg, hs_loop_t *loop)
{
    self_t *self = arg;
    self->loop = loop;
    self->started_at_ns = hs_now_ns ();
    self->proxy = proxy_new (&self->opts);
    self->join = hs_loop_timer (loop, hs_mono_ns (), s_on_join, self);
    self->turn = hs_loop_turn (loop, s_turn, self);
    return 0;
}

static void s_teardown (void *arg)
{
    self_t *self = arg;
    hs_loop_timer_free (&self->join);
    hs_loop_timer_free (&self->heartbeat);
    hs_loop_turn_free (&self->turn);
    hs_client_destroy (&self->client);
    proxy_destroy (&self->proxy);
    log_info ("stopped; table " PROXY_FAMILY " " PROXY_TABLE
              " left serving (hs-proxy --cleanup deletes it)");
}

static const hs_daemon_t s_daemon = {.name = "hs-proxy",
                                     .usage = s_usage,
                                     .options = s_options,
                                     .flag = s_flag,
                                     .check = s_check,
                                     .setup = s_setup,
                                     .teardown = s_teardown};

/* hs-proxy --cleanup: the table goes; nothing else is touched. */
static int s_cleanup (void)
{
    proxy_nft_t *nft = NULL;
    const char *err = NULL;
    int r = proxy_nft_new (&nft);
    if (r == 0) r = proxy_nft_cleanup (nft, &err);
    if (r < 0) fprintf (stderr, "hs-proxy: --cleanup: %s\n", err ? err : strerror (-r));
    proxy_nft_destroy (&nft);
    return r < 0 ? 1 : 0;
}

int main (int argc, char **argv)
{
    static char host[HOST_NAME_MAX + 1];
    if (gethostname (host, sizeof host) != 0 || !*host) strcpy (host, "node");
    self_t self = {
        .bus = getenv ("HS_BUS"),
        .node = host,
        .heartbeat_ns = 1000 * MS,
        .opts = {.min_sync_ns = 0, .sync_ns = 30000 * MS, .render = {.masquerade_egress = true}}};
    hs_net_conf_default (&self.net);
    hs_log_init (s_daemon.name);
    int r = hs_daemon_parse (&s_daemon, &self, argc, argv);
    if (r != 0) return r < 0 ? 0 : r;
    if (self.cleanup) return s_cleanup ();
    return hs_daemon_run (&s_daemon, &self);
}
