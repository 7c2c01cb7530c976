/*  hollow_main.c: hs-hollow, N hollow nodes from one process (hollow.h):
 *  flags, the bus, the loop.
 *
 *  `hs-hollow N` registers N Nodes whose pods only pretend to run, as
 *  kubemark and kwok do; it is how the scheduler and the controllers are
 *  benchmarked (bench/) and how the integration tests get many nodes.
 */
#include "hollow.h"

#include "hs_client.h"
#include "hs_log.h"
#include "hs_notify.h"
#include "hs_quantity.h"
#include "hs_util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#define MS 1000000LL

static void s_usage (FILE *f)
{
    fprintf (f, "usage: hs-hollow N [--bus ADDR] [--node-prefix P] [--labels K=V,...] [--cpu Q]\n"
                "                 [--memory Q] [--max-pods N] [--start-delay-ms MS]\n"
                "                 [--status-interval-ms MS] [--heartbeat-ms MS]\n"
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
                "Pods with restartPolicy OnFailure or Never succeed (exit code 0) after the\n"
                "decimal seconds of their annotation " HOLLOW_RUN_ANNOTATION " (default 0).\n");
}

static int s_number (const char *flag, const char *s, int64_t min, int64_t max, int64_t *ret)
{
    int64_t v;
    if (hs_parse_i64 (s, &v) < 0 || v < min || v > max) {
        fprintf (stderr, "hs-hollow: %s: not a number in %lld..%lld: %s\n", flag, (long long)min,
                 (long long)max, s);
        return -1;
    }
    *ret = v;
    return 0;
}

/* The flags into *conf and *ret_bus: 0, 1 after --help, or -1 (usage
 * error, said on stderr). */
static int s_flags (int argc, char **argv, hollow_conf_t *conf, const char **ret_bus)
{
    static const struct option longopts[] = {
        {"bus", required_argument, NULL, 'b'},
        {"node-prefix", required_argument, NULL, 'P'},
        {"labels", required_argument, NULL, 'l'},
        {"cpu", required_argument, NULL, 'c'},
        {"memory", required_argument, NULL, 'm'},
        {"max-pods", required_argument, NULL, 'p'},
        {"start-delay-ms", required_argument, NULL, 'D'},
        {"status-interval-ms", required_argument, NULL, 'I'},
        {"heartbeat-ms", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    int64_t v;
    while ((ch = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b': *ret_bus = optarg; break;
        case 'P':
            /* names and topics: what a Node name may hold, and short */
            if (strlen (optarg) > 200 ||
                strspn (optarg, "abcdefghijklmnopqrstuvwxyz0123456789-.") != strlen (optarg)) {
                fprintf (stderr,
                         "hs-hollow: --node-prefix: lower-case letters, digits, '-' "
                         "and '.' only: %s\n",
                         optarg);
                return -1;
            }
            conf->prefix = optarg;
            break;
        case 'l': conf->labels = optarg; break;
        case 'c':
            if (hs_quantity_cpu_milli (optarg, &conf->cpu_milli) < 0 || conf->cpu_milli <= 0) {
                fprintf (stderr, "hs-hollow: --cpu: not a CPU quantity: %s\n", optarg);
                return -1;
            }
            break;
        case 'm':
            if (hs_quantity_bytes (optarg, &conf->memory_bytes) < 0 || conf->memory_bytes <= 0) {
                fprintf (stderr, "hs-hollow: --memory: not a memory quantity: %s\n", optarg);
                return -1;
            }
            break;
        case 'p':
            if (s_number ("--max-pods", optarg, 1, 1000000, &conf->max_pods) < 0) return -1;
            break;
        case 'D':
            if (s_number ("--start-delay-ms", optarg, 0, 86400000, &v) < 0) return -1;
            conf->start_delay_ns = v * MS;
            break;
        case 'I':
            if (s_number ("--status-interval-ms", optarg, 1, 86400000, &v) < 0) return -1;
            conf->status_ns = v * MS;
            break;
        case 'H':
            if (s_number ("--heartbeat-ms", optarg, 1, 3600000, &v) < 0) return -1;
            conf->heartbeat_ms = (int)v;
            break;
        case 'h': s_usage (stdout); return 1;
        default: s_usage (stderr); return -1;
        }
    }
    if (optind != argc - 1) {
        s_usage (stderr);
        return -1;
    }
    if (s_number ("N", argv[optind], 1, HOLLOW_MAX_NODES, &v) < 0) return -1;
    conf->n_nodes = (uint32_t)v;
    return 0;
}

int main (int argc, char **argv)
{
    hs_log_init ("hs-hollow");
    hollow_conf_t conf = {.cpu_milli = 4000,
                          .memory_bytes = 16LL << 30,
                          .max_pods = 110,
                          .status_ns = 10000 * MS,
                          .heartbeat_ms = 250};
    const char *bus = NULL;
    int r = s_flags (argc, argv, &conf, &bus);
    if (r != 0) return r > 0 ? 0 : 2;
    hollow_t *hollow = hollow_new (&conf);
    hs_client_t *client = NULL;

    /* Block the signals before ZeroMQ starts its threads, so they all arrive
     * at our signalfd. */
    int rc = 1;
    int sigfd = hs_stop_signalfd ();
    if (sigfd < 0) {
        log_error ("signalfd: %s", strerror (-sigfd));
        goto out;
    }
    r = hs_client_new (bus, "hs-hollow", hollow_instance (hollow), -1, &client);
    if (r < 0) {
        log_error ("cannot join the bus: %s", strerror (-r));
        goto out;
    }
    hollow_start (hollow, client);
    for (;;) {
        int64_t left = hollow_work (hollow) - hs_mono_ns ();
        int timeout = left <= 0 ? 0 : left >= 1000 * MS ? 1000 : (int)((left + MS - 1) / MS);
        int ct = hs_client_timeout_ms (client);
        if (ct >= 0 && ct < timeout) timeout = ct;
        timeout = (int)hs_notify_timeout (timeout);
        zmq_pollitem_t items[2] = {{hs_client_socket (client), 0, ZMQ_POLLIN, 0},
                                   {NULL, sigfd, ZMQ_POLLIN, 0}};
        int np = zmq_poll (items, 2, timeout);
        if (np < 0 && errno != EINTR) {
            log_error ("zmq_poll: %s", strerror (errno));
            goto out;
        }
        if (np > 0 && (items[1].revents & ZMQ_POLLIN)) {
            struct signalfd_siginfo si;
            if (read (sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                log_info ("signal %u: stopping (%u hollow nodes, %zu pods)", si.ssi_signo,
                          conf.n_nodes, hollow_pods (hollow));
                break;
            }
        }
        r = hs_client_process (client, 0);
        if (r < 0 && r != -EINTR) {
            log_error ("the bus failed: %s", strerror (-r));
            goto out;
        }
        hs_notify_watchdog ();
    }
    rc = 0;
    hs_notify_stopping ();
out:
    hs_client_destroy (&client); /* pending acks are dropped, not run */
    hollow_destroy (&hollow);
    if (sigfd >= 0) close (sigfd);
    return rc;
}
