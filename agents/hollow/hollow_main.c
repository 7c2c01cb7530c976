/*  hollow_main.c: hs-hollow, N hollow nodes from one process (hollow.h):
 *  flags, the bus, the loop.
 *
 *  `hs-hollow N` registers N Nodes whose pods only pretend to run, as
 *  kubemark and kwok do; it is how the scheduler and the controllers are
 *  benchmarked (bench/) and how the integration tests get many nodes.
 *
 *  The loop (hs_daemon, hs_loop): a timer that joins the bus, then the
 *  client's socket (hs_client_attach) and a turn (hs_loop_turn). The socket
 *  delivers acks and pod events; after every wake-up, and at the deadline
 *  it returned last, the turn runs hollow_work (timers due, writes
 *  flushed, the heartbeat).
 */
#include "agent_usage.h"
#include "hollow.h"
#include "hollow_usage.h"

#include "hs_client.h"
#include "hs_daemon.h"
#include "hs_log.h"
#include "hs_quantity.h"
#include "hs_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS           1000000LL
#define JOIN_WAIT_MS 1000

typedef struct {
    hollow_conf_t conf;
    const char *bus;
    hollow_t *hollow;
    hs_client_t *client;
    hs_loop_t *loop;
    hs_loop_timer_t *join;
    hs_loop_turn_t *turn;
} self_t;

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: hs-hollow N [--bus ADDR] [--node-prefix P] [--labels K=V,...] [--cpu Q]\n"
             "                 [--memory Q] [--max-pods N] [--start-delay-ms MS]\n"
             "                 [--status-interval-ms MS] [--heartbeat-ms MS]\n"
             "                 [--usage-interval D]\n"
             "  N                      register N hollow nodes P0 .. P(N-1) from this process;\n"
             "                         their pods only pretend to run\n"
             "  --node-prefix P        node name prefix (default hollow-)\n"
             "  --labels K=V,...       extra labels of every node\n"
             "  --cpu Q, --memory Q    each node's capacity (default 4 and 16Gi)\n"
             "  --max-pods N           each node's pods capacity (default 110)\n"
             "  --start-delay-ms MS    a bound pod goes Running after MS (default 0)\n"
             "  --status-interval-ms MS  every node's Ready is re-posted once per MS, spread\n"
             "                         evenly (default 10000)\n"
             "  --heartbeat-ms MS      hb.agent-sim.<instance> interval (default 250)\n"
             "  --usage-interval D     each node's usage.<node>/ (synthetic figures, spread\n"
             "                         over the interval; 1s, 500ms, ...; default 1s; 0: none)\n"
             "Pods with restartPolicy OnFailure or Never succeed (exit code 0) after the\n"
             "decimal seconds of their annotation " HOLLOW_RUN_ANNOTATION " (default 0).\n"
             "A running pod's usage is synthetic and stable: each container uses the CPU\n"
             "and memory quantities of the pod's annotations " HOLLOW_CPU_ANNOTATION " and\n"
             "" HOLLOW_MEMORY_ANNOTATION ", else a share of its requests (see hollow_usage.h).\n");
}

/* The loop's turn, after every wake-up: hollow_work; its deadline. */
static int64_t s_turn (void *arg)
{
    self_t *self = arg;
    return hollow_work (self->hollow);
}

static const struct option s_options[] = {
    {"bus", required_argument, NULL, 'b'},
    {"node-prefix", required_argument, NULL, 'P'},
    {"labels", required_argument, NULL, 'l'},
    {"cpu", required_argument, NULL, 'c'},
    {"memory", required_argument, NULL, 'm'},
    {"max-pods", required_argument, NULL, 'p'},
    {"start-delay-ms", required_argument, NULL, 'D'},
    {"status-interval-ms", required_argument, NULL, 'I'},
    {"heartbeat-ms", required_argument, NULL, 'H'},
    {"usage-interval", required_argument, NULL, 'U'},
    {NULL, 0, NULL, 0},
};

static int s_flag (void *arg, int ch, const char *v)
{
    hollow_conf_t *conf = &((self_t *)arg)->conf;
    const char *prog = "hs-hollow";
    int64_t n;
    switch (ch) {
    case 'b': ((self_t *)arg)->bus = v; return 0;
    case 'l': conf->labels = v; return 0;
    case 'P':
        /* names and topics: what a Node name may hold, and short */
        if (strlen (v) <= 200 &&
            strspn (v, "abcdefghijklmnopqrstuvwxyz0123456789-.") == strlen (v)) {
            conf->prefix = v;
            return 0;
        }
        fprintf (stderr,
                 "hs-hollow: --node-prefix: lower-case letters, digits, '-' and '.' only: %s\n", v);
        return -1;
    case 'c':
        if (hs_quantity_cpu_milli (v, &conf->cpu_milli) == 0 && conf->cpu_milli > 0) return 0;
        fprintf (stderr, "hs-hollow: --cpu: not a CPU quantity: %s\n", v);
        return -1;
    case 'm':
        if (hs_quantity_bytes (v, &conf->memory_bytes) == 0 && conf->memory_bytes > 0) return 0;
        fprintf (stderr, "hs-hollow: --memory: not a memory quantity: %s\n", v);
        return -1;
    case 'p': return hs_daemon_int (prog, "--max-pods", v, 1, 1000000, &conf->max_pods);
    case 'D':
        if (hs_daemon_int (prog, "--start-delay-ms", v, 0, 86400000, &n) < 0) return -1;
        conf->start_delay_ns = n * MS;
        return 0;
    case 'I': return hs_daemon_ms (prog, "--status-interval-ms", v, 86400000, &conf->status_ns);
    case 'H': return hs_daemon_ms (prog, "--heartbeat-ms", v, 3600000, &conf->heartbeat_ns);
    case 'U':
        if (agent_usage_parse_interval (v, &conf->usage_ns) == 0) return 0;
        fprintf (stderr, "hs-hollow: --usage-interval: not a duration of 100ms to 1h, or 0: %s\n",
                 v);
        return -1;
    default: return -1;
    }
}

/* The one positional argument: N. */
static int s_check (void *arg, int argc, char **argv)
{
    self_t *self = arg;
    int64_t n;
    if (argc != 1) {
        s_usage (stderr);
        return -1;
    }
    if (hs_daemon_int ("hs-hollow", "N", argv[0], 1, HOLLOW_MAX_NODES, &n) < 0) return -1;
    self->conf.n_nodes = (uint32_t)n;
    return 0;
}

/* Joins the bus (a second at most per try, so a stop signal is heard
 * between tries), then starts the nodes. */
static void s_on_join (void *arg)
{
    self_t *self = arg;
    int r = hs_client_new (self->bus, "hs-hollow", hollow_instance (self->hollow), JOIN_WAIT_MS,
                           &self->client);
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
    hollow_start (self->hollow, self->client);
    self->turn = hs_loop_turn (self->loop, s_turn, self);
}

static int s_setup (void *arg, hs_loop_t *loop)
{
    self_t *self = arg;
    self->loop = loop;
    self->hollow = hollow_new (&self->conf);
    self->join = hs_loop_timer (loop, hs_mono_ns (), s_on_join, self);
    return 0;
}

static void s_teardown (void *arg)
{
    self_t *self = arg;
    hs_loop_timer_free (&self->join);
    hs_loop_turn_free (&self->turn);
    hs_client_destroy (&self->client); /* pending acks are dropped, not run */
    hollow_destroy (&self->hollow);
}

static const hs_daemon_t s_daemon = {.name = "hs-hollow",
                                     .usage = s_usage,
                                     .options = s_options,
                                     .flag = s_flag,
                                     .check = s_check,
                                     .setup = s_setup,
                                     .teardown = s_teardown};

int main (int argc, char **argv)
{
    self_t self = {.conf = {.cpu_milli = 4000,
                            .memory_bytes = 16LL << 30,
                            .max_pods = 110,
                            .status_ns = 10000 * MS,
                            .heartbeat_ns = 250 * MS,
                            .usage_ns = 1000 * MS}};
    return hs_daemon_main (&s_daemon, &self, argc, argv);
}
