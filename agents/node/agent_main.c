/*  agent_main.c: hs-agent's wiring: flags, the Node, heartbeats, the loop.
 *
 *  At start the agent registers its Node (OP_APPLY of labels, then its
 *  status: capacity, allocatable, Ready, addresses, system info), then
 *  watches only the pods bound to it (hs_watch_opts_t.pod_node). Every
 *  heartbeat interval it publishes a ComponentHeartbeat on
 *  hb.agent.<node> (naming the node in `nodes`, which is how hs-prober
 *  tells a live node); every status interval it re-posts the Node's Ready
 *  condition with a fresh heartbeat time, and at once when its own Node's
 *  event (subscribed to by topic, ev.node.-./<node>) shows Ready not True:
 *  hs-prober declares a silent node Unknown, and a live agent says
 *  otherwise. The loop polls the bus, a signalfd, the pidfds of the
 *  running shims (agent_pods.c) and the exec probes' pipes (agent_probe.c).
 *
 *  Stopping the agent (SIGTERM) leaves the workloads running: their shims
 *  hold them.
 */
#include "agent.h"
#include "agent_state.h"
#include "agent_logs.h"
#include "agent_probe.h"
#include "agent_rules.h"

#include "hs_log.h"
#include "hs_notify.h"
#include "hs_pb.h"
#include "hs_quantity.h"
#include "hs_util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_POLL        1024
#define STATIC_CHECK_MS 5000

typedef struct {
    agent_conf_t conf;
    const char *labels;
    const char *manifests; /* --manifests DIR: static pods */
    int64_t next_static_mono;
    int64_t cpu_milli, memory_bytes, max_pods;
    int heartbeat_ms, status_ms;
    hs_client_t *client;
    hs_watch_t *watch;
    agent_pods_t *pods;
    agent_logs_t *logs;   /* hsctl logs (agent_logs.c) */
    agent_probe_t *probe; /* probe results and exec probes (agent_probe.c) */
    char *node_topic;     /* ev.node.-./<node>: our Node's events */
    int64_t started_at_ns;
    int64_t ready_since_ns; /* the Ready condition's lastTransitionTime we post */
    bool node_registered;
    int64_t next_hb_mono, next_status_mono;
} self_t;

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: hs-agent [--bus ADDR] [--node-name NAME] [--labels K=V,...] [--cpu Q]\n"
             "                [--memory Q] [--max-pods N] [--state-dir DIR] [--cgroup-root DIR]\n"
             "                [--cgroup-parent NAME] [--shim PATH] [--heartbeat-ms MS]\n"
             "                [--status-interval-ms MS] [--backoff-initial S] [--backoff-max S]\n"
             "                [--backoff-reset S] [--log-max-bytes N] [--log-max-files N]\n"
             "                [--no-namespaces] [--manifests DIR]\n"
             "  --node-name NAME       the Node (default: the host name)\n"
             "  --labels K=V,...       extra Node labels\n"
             "  --cpu Q, --memory Q    capacity (default: this machine's CPUs and memory)\n"
             "  --max-pods N           pods capacity (default 110)\n"
             "  --state-dir DIR        runs and logs (default /var/lib/homeostat/agent-NODE)\n"
             "  --cgroup-root DIR      cgroup mount root (default /sys/fs/cgroup)\n"
             "  --cgroup-parent NAME   our group under it (default homeostat/NODE)\n"
             "  --shim PATH            hs-shim (default: next to hs-agent)\n"
             "  --heartbeat-ms MS      hb.agent.NODE interval (default 250)\n"
             "  --status-interval-ms MS  Node status re-post (default 10000)\n"
             "  --backoff-initial S    delay of the second restart (default 10)\n"
             "  --backoff-max S        crash-loop backoff ceiling (default 300)\n"
             "  --backoff-reset S      a run this long resets the backoff (default 600)\n"
             "  --log-max-bytes N      rotate a container's log at N bytes (default 10 MiB)\n"
             "  --log-max-files N      log files kept per container (default 5)\n"
             "  --no-namespaces        run containers without PID/mount/UTS/IPC namespaces\n"
             "  --manifests DIR        run the Pods in DIR's *.yaml/*.yml/*.json as static pods,\n"
             "                         with or without a control plane (re-read every 5 s,\n"
             "                         and at once on SIGHUP)\n");
}

/* ------------------------------------------------------------------ the Node */

static int64_t s_mem_total (void)
{
    FILE *f = fopen ("/proc/meminfo", "re");
    if (!f) return 0;
    char line[256];
    long long kb = 0;
    while (fgets (line, sizeof line, f))
        if (sscanf (line, "MemTotal: %lld kB", &kb) == 1) break;
    fclose (f);
    return kb * 1024;
}

static int s_call (self_t *self, Hs__Write *w, const char *what)
{
    Hs__Ack *ack = NULL;
    /* Short: static pods wait while this does (see s_idle). */
    hs_call_opts_t opts = {.timeout_ms = 2000};
    int r = hs_client_call (self->client, &w, 1, &opts, &ack);
    hs_pb_free (w);
    if (r < 0) {
        log_warn ("%s: no answer from the store: %s", what, strerror (-r));
        return r;
    }
    if (ack->code != HS__CODE__CODE_OK) {
        log_warn ("%s: %s: %s", what, hs_code_reason (ack->code), hs_s (ack->message));
        r = -EPROTO;
    }
    hs_pb_free (ack);
    return r;
}

/* The Node's status: capacity, allocatable, Ready with a fresh heartbeat. */
static int s_post_status (self_t *self)
{
    struct utsname u;
    uname (&u);
    char mid[64];
    agent_machine_id (mid, sizeof mid);
    _cleanup_free_ char *cpu = hs_quantity_fmt_cpu (self->cpu_milli);
    _cleanup_free_ char *mem = hs_quantity_fmt_bytes (self->memory_bytes);
    _cleanup_free_ char *pods = hs_sprintf ("%lld", (long long)self->max_pods);
    agent_node_info_t in = {.name = self->conf.node,
                            .cpu = cpu,
                            .memory = mem,
                            .pods = pods,
                            .ready_since_ns = self->ready_since_ns,
                            .message = "hs-agent is posting ready status",
                            .agent_version = "hs-agent " HS_VERSION,
                            .machine_id = mid,
                            .uts = &u};
    return s_call (self, hs_write_new (HS__OP__OP_UPDATE_STATUS, agent_node_status (&in)),
                   "posting the Node's status");
}

/* The Node exists already (a restart): keep its spec (cordon, taints:
 * what users and hs-prober set) and refresh only our labels, with the
 * revision we read. */
static int s_reregister (self_t *self, Hs__Object *want /* taken */)
{
    _cleanup_pb_ Hs__Object *mine = want;
    hs_kind_t k = HS_KIND_NODE;
    hs_db_snapshot_t snap = {0};
    int r = hs_client_snapshot (self->client, &k, 1, NULL, 5000, &snap);
    if (r < 0) {
        log_warn ("registering the Node: cannot read it back: %s", strerror (-r));
        return r;
    }
    Hs__Object *upd = NULL;
    for (size_t i = 0; i < snap.n_objects && !upd; i++)
        if (hs_streq (hs_obj_meta (snap.objects[i])->name, self->conf.node))
            upd = hs_pb_dup (snap.objects[i]);
    hs_db_snapshot_free (&snap);
    if (!upd) return -EAGAIN; /* deleted meanwhile: the next try creates it */
    Hs__ObjectMeta *um = hs_obj_meta (upd), *wm = hs_obj_meta (mine);
    for (size_t i = 0; i < wm->n_labels; i++)
        hs_pb_map_set ((void ***)&um->labels, &um->n_labels,
                       &hs__object_meta__labels_entry__descriptor, wm->labels[i]->key,
                       wm->labels[i]->value);
    Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE, upd);
    w->expected_revision = um->resource_version;
    return s_call (self, w, "registering the Node (it exists: keeping its spec)");
}

static int s_register (self_t *self)
{
    struct utsname u;
    uname (&u);
    Hs__Object *o = agent_node_object (self->conf.node, &u, self->labels);
    Hs__Object *again = hs_pb_dup (o);
    Hs__Write *cw = hs_write_new (HS__OP__OP_CREATE, o);
    Hs__Ack *ack = NULL;
    hs_call_opts_t opts = {.timeout_ms = 2000};
    int r = hs_client_call (self->client, &cw, 1, &opts, &ack);
    hs_pb_free (cw);
    if (r < 0) {
        log_warn ("registering the Node: no answer from the store: %s", strerror (-r));
        hs_pb_free (again);
    } else if (ack->code == HS__CODE__CODE_ALREADY_EXISTS) {
        r = s_reregister (self, again);
    } else {
        if (ack->code != HS__CODE__CODE_OK) {
            log_warn ("registering the Node: %s: %s", hs_code_reason (ack->code),
                      hs_s (ack->message));
            r = -EPROTO;
        }
        hs_pb_free (again);
    }
    hs_pb_free (ack);
    if (r == 0) r = s_post_status (self);
    if (r == 0) log_info ("registered node %s", self->conf.node);
    return r;
}

static void s_heartbeat (self_t *self)
{
    Hs__ComponentHeartbeat hb = HS__COMPONENT_HEARTBEAT__INIT;
    hb.component = "hs-agent";
    hb.instance = (char *)self->conf.node;
    char host[HOST_NAME_MAX + 1] = "";
    gethostname (host, sizeof host);
    hb.host = host;
    hb.started_at_ns = self->started_at_ns;
    hb.observed_revision = self->watch ? hs_watch_revision (self->watch) : 0;
    hb.interval_ms = (uint32_t)self->heartbeat_ms;
    /* hsctl get components: OWNED "running/pods of the node (%)" */
    hb.owned = agent_pods_running (self->pods);
    hb.total = agent_pods_count (self->pods);
    hb.garbage = hs_bus_garbage (hs_client_bus (self->client));
    char *nodes[1] = {(char *)self->conf.node};
    hb.nodes = nodes;
    hb.n_nodes = 1;
    const char *names[] = {"probe_results", "exec_probes", "probe_refused"};
    const uint64_t values[] = {agent_probe_results (self->probe), agent_probe_execs (self->probe),
                               agent_probe_refused (self->probe)};
    Hs__Counter cs[HS_ARRAY_LEN (names)];
    Hs__Counter *cp[HS_ARRAY_LEN (names)];
    for (size_t i = 0; i < HS_ARRAY_LEN (names); i++) {
        hs__counter__init (&cs[i]);
        cs[i].name = (char *)names[i];
        cs[i].value = values[i];
        cp[i] = &cs[i];
    }
    hb.counters = cp;
    hb.n_counters = HS_ARRAY_LEN (names);
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    _cleanup_free_ char *topic = hs_sprintf ("hb.agent.%s", self->conf.node);
    hs_bus_publish (hs_client_bus (self->client), topic, &env);
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
}

/* Our Node changed in the store. Ready not True (hs-prober saw our
 * heartbeats stop) while we are alive: re-post Ready=True now, with a
 * transition time of now. Ready True: keep its transition time. */
static void s_on_node (void *arg, const char *topic, const Hs__Envelope *env)
{
    self_t *self = arg;
    if (strcmp (topic, self->node_topic) != 0) return; /* ev.node.-./<node>2 */
    const Hs__WatchEvent *ev = env->body_case == HS__ENVELOPE__BODY_EVENT ? env->event : NULL;
    const Hs__Node *node = ev && ev->object ? ev->object->node : NULL;
    if (!node || !node->metadata || !hs_streq (node->metadata->name, self->conf.node) ||
        ev->type == HS__EVENT_TYPE__DELETED)
        return;
    int64_t since = 0;
    if (agent_rules_node_ready (node, &since)) {
        if (since > 0) self->ready_since_ns = since;
        return;
    }
    if (self->next_status_mono == 0) return; /* already due */
    log_info ("node %s: the store shows it not Ready; re-posting Ready=True", self->conf.node);
    self->ready_since_ns = hs_now_ns ();
    self->next_status_mono = 0;
}

/* ------------------------------------------------------------------ offline */

/* Re-reads --manifests every STATIC_CHECK_MS: new, changed and removed
 * static pods (agent_pods_set_static). */
static void s_static_check (self_t *self)
{
    if (!self->manifests || hs_mono_ns () < self->next_static_mono) return;
    self->next_static_mono = hs_mono_ns () + STATIC_CHECK_MS * 1000000LL;
    Hs__Pod **pods = NULL;
    int n = agent_static_load (self->manifests, self->conf.node, &pods);
    if (n < 0) return; /* logged; what runs keeps running */
    agent_pods_set_static (self->pods, pods, (size_t)n);
    for (int i = 0; i < n; i++) hs_pb_free (pods[i]);
    free (pods);
}

/* A signal from the signalfd: SIGHUP re-reads --manifests now (0); SIGTERM
 * and SIGINT stop the agent (-1). */
static int s_signal (self_t *self, int sigfd)
{
    struct signalfd_siginfo si;
    if (read (sigfd, &si, sizeof si) != (ssize_t)sizeof si) return 0;
    if (si.ssi_signo == SIGHUP) {
        log_info ("SIGHUP: re-reading %s", self->manifests ? self->manifests : "(no --manifests)");
        self->next_static_mono = 0;
        return 0;
    }
    log_info ("signal %u: stopping (the workloads keep running)", si.ssi_signo);
    return -1;
}

/* Runs the pods for up to ms without the bus (before it or the store
 * answer). -1 if a signal asks us to stop. */
static int s_idle (self_t *self, int sigfd, int ms)
{
    int64_t until = hs_mono_ns () + ms * 1000000LL;
    for (;;) {
        s_static_check (self);
        int timeout = agent_pods_work (self->pods);
        int left = (int)((until - hs_mono_ns ()) / 1000000);
        if (left <= 0) return 0;
        if (timeout < 0 || timeout > left) timeout = left;
        if (timeout > STATIC_CHECK_MS) timeout = STATIC_CHECK_MS;
        struct pollfd pf[MAX_POLL + 1] = {{.fd = sigfd, .events = POLLIN}};
        int fds[MAX_POLL];
        size_t nf = agent_pods_fds (self->pods, fds, MAX_POLL);
        for (size_t i = 0; i < nf; i++) pf[1 + i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        if (poll (pf, 1 + nf, timeout) > 0 && (pf[0].revents & POLLIN) &&
            s_signal (self, sigfd) < 0)
            return -1;
    }
}

/* ------------------------------------------------------------------ main */

static int s_seconds (const char *flag, const char *s, int64_t *ret_ns)
{
    int64_t v;
    if (hs_parse_i64 (s, &v) < 0 || v < 0 || v > 86400 * 365) {
        fprintf (stderr, "hs-agent: %s: not a number of seconds: %s\n", flag, s);
        return -1;
    }
    *ret_ns = v * 1000000000LL;
    return 0;
}

int main (int argc, char **argv)
{
    hs_log_init ("hs-agent");
    self_t self = {.heartbeat_ms = 250, .status_ms = 10000, .max_pods = 110};
    agent_conf_t *conf = &self.conf;
    conf->backoff_initial_ns = 10 * 1000000000LL;
    conf->backoff_max_ns = 300 * 1000000000LL;
    conf->backoff_reset_ns = 600 * 1000000000LL;
    conf->log_max_bytes = 10 << 20;
    conf->log_max_files = 5;
    const char *bus = NULL, *cg_root = NULL, *cg_parent = NULL, *state_dir = NULL;
    const char *node = NULL, *shim = NULL;
    static const struct option longopts[] = {
        {"bus", required_argument, NULL, 'b'},
        {"node-name", required_argument, NULL, 'n'},
        {"labels", required_argument, NULL, 'l'},
        {"cpu", required_argument, NULL, 'c'},
        {"memory", required_argument, NULL, 'm'},
        {"max-pods", required_argument, NULL, 'p'},
        {"state-dir", required_argument, NULL, 's'},
        {"cgroup-root", required_argument, NULL, 'R'},
        {"cgroup-parent", required_argument, NULL, 'P'},
        {"shim", required_argument, NULL, 'S'},
        {"heartbeat-ms", required_argument, NULL, 'H'},
        {"status-interval-ms", required_argument, NULL, 'I'},
        {"backoff-initial", required_argument, NULL, '1'},
        {"backoff-max", required_argument, NULL, '2'},
        {"backoff-reset", required_argument, NULL, '3'},
        {"log-max-bytes", required_argument, NULL, '4'},
        {"log-max-files", required_argument, NULL, '5'},
        {"no-namespaces", no_argument, NULL, 'N'},
        {"manifests", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    int64_t v;
    while ((ch = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b': bus = optarg; break;
        case 'n': node = optarg; break;
        case 'l': self.labels = optarg; break;
        case 'c':
            if (hs_quantity_cpu_milli (optarg, &self.cpu_milli) < 0 || self.cpu_milli <= 0) {
                fprintf (stderr, "hs-agent: --cpu: not a CPU quantity: %s\n", optarg);
                return 2;
            }
            break;
        case 'm':
            if (hs_quantity_bytes (optarg, &self.memory_bytes) < 0 || self.memory_bytes <= 0) {
                fprintf (stderr, "hs-agent: --memory: not a memory quantity: %s\n", optarg);
                return 2;
            }
            break;
        case 'p':
        case 'H':
        case 'I':
        case '4':
        case '5':
            if (hs_parse_i64 (optarg, &v) < 0 || v <= 0 || v > INT_MAX) {
                fprintf (stderr, "hs-agent: %s: not a positive number: %s\n", argv[optind - 1],
                         optarg);
                return 2;
            }
            if (ch == 'p') self.max_pods = v;
            if (ch == 'H') self.heartbeat_ms = (int)v;
            if (ch == 'I') self.status_ms = (int)v;
            if (ch == '4') conf->log_max_bytes = v;
            if (ch == '5') conf->log_max_files = (int)v;
            /* hs-shim's bounds: any record fits an empty file. */
            if ((ch == '4' && v < 32768) || (ch == '5' && v > 100)) {
                fprintf (stderr, "hs-agent: %s: out of range (bytes >= 32768; files 1..100): %s\n",
                         argv[optind - 1], optarg);
                return 2;
            }
            break;
        case 's': state_dir = optarg; break;
        case 'R': cg_root = optarg; break;
        case 'P': cg_parent = optarg; break;
        case 'S': shim = optarg; break;
        case '1':
            if (s_seconds ("--backoff-initial", optarg, &conf->backoff_initial_ns) < 0) return 2;
            break;
        case '2':
            if (s_seconds ("--backoff-max", optarg, &conf->backoff_max_ns) < 0) return 2;
            break;
        case '3':
            if (s_seconds ("--backoff-reset", optarg, &conf->backoff_reset_ns) < 0) return 2;
            break;
        case 'N': conf->no_namespaces = true; break;
        case 'M': self.manifests = optarg; break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    if (optind < argc) {
        s_usage (stderr);
        return 2;
    }
    char host[HOST_NAME_MAX + 1] = "node";
    gethostname (host, sizeof host);
    conf->node = node ? node : host;
    _cleanup_free_ char *sd =
        state_dir ? hs_strdup (state_dir) : hs_sprintf ("/var/lib/homeostat/agent-%s", conf->node);
    conf->state_dir = sd;
    _cleanup_free_ char *parent =
        cg_parent ? hs_strdup (cg_parent) : hs_sprintf ("homeostat/%s", conf->node);
    char self_path[PATH_MAX];
    ssize_t sl = readlink ("/proc/self/exe", self_path, sizeof self_path - 1);
    self_path[sl > 0 ? sl : 0] = '\0';
    char *slash = strrchr (self_path, '/');
    if (slash) slash[1] = '\0';
    _cleanup_free_ char *shim_path = shim ? hs_strdup (shim) : hs_sprintf ("%shs-shim", self_path);
    conf->shim = shim_path;
    if (access (conf->shim, X_OK) != 0) {
        fprintf (stderr, "hs-agent: the shim %s: %s (--shim PATH)\n", conf->shim, strerror (errno));
        return 2;
    }
    if (!self.cpu_milli) self.cpu_milli = sysconf (_SC_NPROCESSORS_ONLN) * 1000;
    if (!self.memory_bytes) self.memory_bytes = s_mem_total ();
    self.started_at_ns = self.ready_since_ns = hs_now_ns ();

    /* The shims' daemons are orphaned by their first process: as subreaper
     * the agent becomes their parent and reaps them (agent_pods_work), so
     * no zombie waits for an init that may not reap. */
    prctl (PR_SET_CHILD_SUBREAPER, 1);
    int sigfd = hs_stop_signalfd ();
    if (sigfd >= 0) { /* and SIGHUP, to re-read --manifests at once */
        sigset_t mask;
        sigemptyset (&mask);
        sigaddset (&mask, SIGTERM);
        sigaddset (&mask, SIGINT);
        sigaddset (&mask, SIGHUP);
        sigprocmask (SIG_BLOCK, &mask, NULL);
        if (signalfd (sigfd, &mask, 0) < 0) sigfd = -errno;
    }
    if (sigfd < 0) {
        log_error ("signalfd: %s", strerror (-sigfd));
        return 1;
    }
    int rc = 1;
    hs_cg_t *cg = NULL;
    agent_state_t *state = NULL;
    _cleanup_free_ char *dbdir = hs_sprintf ("%s/db", conf->state_dir);
    int r = agent_mkdir_p (conf->state_dir);
    if (r == 0) r = agent_state_open (dbdir, &state);
    if (r < 0) {
        log_error ("cannot open the agent's record in %s: %s", dbdir, strerror (-r));
        goto out;
    }
    r = hs_cg_open (cg_root, parent, &cg);
    if (r < 0) {
        log_error ("cannot set up cgroups under %s/%s: %s", cg_root ? cg_root : "/sys/fs/cgroup",
                   parent, strerror (-r));
        goto out;
    }
    log_info ("node %s: cgroup v%d, parent %s, state in %s, %lldm CPU, %lld bytes of memory",
              conf->node, hs_cg_version (cg), parent, conf->state_dir, (long long)self.cpu_milli,
              (long long)self.memory_bytes);
    self.pods = agent_pods_new (conf, cg, state);
    r = agent_pods_adopt (self.pods);
    if (r < 0)
        log_error ("cannot read the agent's record: %s; starting without it", strerror (-r));
    else if (r > 0)
        log_info ("adopted %d pods from the agent's record", r);
    s_static_check (&self);
    if (s_idle (&self, sigfd, 0) < 0) goto stopped; /* start them now */
    /* Static pods run before (and without) any control plane: while the
     * bus or the store is away, they keep running between attempts. */
    while ((r = hs_client_new (bus, "hs-agent", conf->node, 1000, &self.client)) < 0) {
        if (r != -ETIMEDOUT) {
            log_error ("cannot join the bus: %s", strerror (-r));
            goto out;
        }
        if (s_idle (&self, sigfd, 1000) < 0) goto stopped;
    }
    /* Register before watching: the scheduler binds only to known nodes. */
    while (s_register (&self) < 0)
        if (s_idle (&self, sigfd, 1000) < 0) goto stopped;
    agent_pods_set_online (self.pods, self.client);
    hs_kind_t kinds[] = {HS_KIND_POD};
    hs_watch_opts_t wo = {.kinds = kinds,
                          .n_kinds = 1,
                          .pod_node = conf->node,
                          .fn = agent_pods_on_event,
                          .arg = self.pods};
    self.watch = hs_client_watch (self.client, &wo);
    self.logs = agent_logs_new (self.client, self.pods, conf->node);
    self.probe = agent_probe_new (self.client, self.pods, conf->node, conf->shim);
    self.node_topic = hs_sprintf ("ev.node.-./%s", conf->node);
    r = hs_client_on (self.client, self.node_topic, s_on_node, &self);
    if (r < 0)
        log_error ("cannot subscribe to %s: %s; a Node marked not Ready waits for the next "
                   "status re-post",
                   self.node_topic, strerror (-r));
    self.next_hb_mono = hs_mono_ns ();
    self.next_status_mono = hs_mono_ns () + self.status_ms * 1000000LL;

    bool confirmed = false;
    for (;;) {
        if (!confirmed && hs_watch_synced (self.watch)) {
            agent_pods_confirm (self.pods);
            confirmed = true;
            /* registered, and the node's pods are in: ready */
            hs_notify_ready ("registered; watching the node's pods");
        }
        s_static_check (&self);
        int timeout = agent_pods_work (self.pods);
        int lt = agent_logs_work (self.logs);
        if (lt >= 0 && (timeout < 0 || lt < timeout)) timeout = lt;
        int pt = agent_probe_work (self.probe);
        if (pt >= 0 && (timeout < 0 || pt < timeout)) timeout = pt;
        int ct = hs_client_timeout_ms (self.client);
        if (ct >= 0 && (timeout < 0 || ct < timeout)) timeout = ct;
        int64_t now = hs_mono_ns ();
        int hb_ms = (int)((self.next_hb_mono - now) / 1000000);
        if (hb_ms < 0) hb_ms = 0;
        if (timeout < 0 || hb_ms < timeout) timeout = hb_ms;
        timeout = (int)hs_notify_timeout (timeout);
        zmq_pollitem_t items[MAX_POLL + AGENT_EXEC_MAX + 2] = {
            {hs_client_socket (self.client), 0, ZMQ_POLLIN, 0}, {NULL, sigfd, ZMQ_POLLIN, 0}};
        int fds[MAX_POLL + AGENT_EXEC_MAX];
        size_t nf = agent_pods_fds (self.pods, fds, MAX_POLL);
        nf += agent_probe_fds (self.probe, fds + nf, AGENT_EXEC_MAX);
        for (size_t i = 0; i < nf; i++)
            items[2 + i] = (zmq_pollitem_t){NULL, fds[i], ZMQ_POLLIN, 0};
        int n = zmq_poll (items, (int)(2 + nf), timeout);
        if (n < 0 && errno != EINTR) {
            log_error ("zmq_poll: %s", strerror (errno));
            break;
        }
        if (n > 0 && (items[1].revents & ZMQ_POLLIN) && s_signal (&self, sigfd) < 0) break;
        r = hs_client_process (self.client, 0);
        if (r == -EINTR) continue;
        now = hs_mono_ns ();
        if (now >= self.next_hb_mono) {
            s_heartbeat (&self);
            self.next_hb_mono = now + self.heartbeat_ms * 1000000LL;
        }
        if (now >= self.next_status_mono) {
            s_post_status (&self);
            self.next_status_mono = hs_mono_ns () + self.status_ms * 1000000LL;
        }
        hs_notify_watchdog ();
    }
stopped:
    rc = 0;
    hs_notify_stopping ();
out:
    agent_probe_destroy (&self.probe);
    free (self.node_topic);
    agent_logs_destroy (&self.logs);
    agent_pods_destroy (&self.pods);
    agent_state_close (&state);
    hs_client_destroy (&self.client);
    hs_cg_destroy (&cg);
    if (sigfd >= 0) close (sigfd);
    return rc;
}
