/*  agent_main.c: hs-agent's wiring: flags, the Node, heartbeats, the loop.
 *
 *  At start the agent registers its Node (OP_APPLY of labels, then its
 *  status: capacity, allocatable, Ready, addresses, system info), then
 *  watches only the pods bound to it (hs_watch_opts_t.pod_node). Every
 *  heartbeat interval it publishes a ComponentHeartbeat on
 *  hb.agent.<node> (naming the node in `nodes`, which is how hs-prober
 *  tells a live node); every status interval it re-posts the Node's Ready
 *  condition with a fresh heartbeat time, and at once when its own Node's
 *  event (subscribed to by topic, ev.node.-//<node>) shows Ready not True:
 *  hs-prober declares a silent node Unknown, and a live agent says
 *  otherwise.
 *
 *  The loop (hs_daemon, hs_loop; docs/architecture.md §10): timers for the
 *  heartbeat, the status re-post, --manifests (every 5 s, and at once on
 *  SIGHUP) and joining the bus; the client's socket (hs_client_attach);
 *  the shims' pidfds and the exec probes' pipes, which agent_pods.c and
 *  agent_probe.c add and remove as they open and close them. Those sources
 *  only wake the loop: after every wake-up, and at the earliest deadline
 *  they returned last, the loop's turn (hs_loop_turn) runs the
 *  level-triggered modules (agent_pods_work, agent_logs_work,
 *  agent_probe_work). Static pods run from the first turn, before and without
 *  the bus: joining is a timer that tries again every second.
 *
 *  Stopping the agent (SIGTERM) leaves the workloads running: their shims
 *  hold them.
 *
 *  Fencing (agent_fence.h, --fence-timeout): contact with the control
 *  plane is hs-prober, which judges the node, confirming one of our
 *  heartbeats on fence.<node>/: it echoes the heartbeat's send time
 *  (sent_mono_ns, our clock), and that send time is the contact. So it
 *  holds whatever brokers we and the prober use (hearing our own heartbeat
 *  come back, or hb.store, would not prove that the prober hears us). None
 *  for the fence timeout: the at-most-one pods are SIGKILLed and none
 *  starts; the next fresh contact ends the fence and sends a Fenced Event on
 *  the Node saying what was killed (none when nothing was). The agent starts
 *  from its shims' lease (agent_fence_start): fenced at once without one.
 *  Blocking calls never wait past the fence deadline (s_block_ms), so its
 *  timer runs on time.
 */
#include "agent.h"
#include "agent_state.h"
#include "agent_logs.h"
#include "agent_exec.h"
#include "agent_svcenv.h"
#include "agent_routes.h"
#include "agent_probe.h"
#include "agent_rules.h"
#include "agent_fence.h"

#include "agent_cni.h"
#include "agent_join.h"

#include "hs_cred.h"
#include "hs_ctrl.h"
#include "hs_daemon.h"
#include "hs_token.h"
#include "hs_net.h"
#include "hs_lock.h"
#include "hs_net.h"
#include "hs_topic.h"
#include "hs_log.h"
#include "hs_notify.h"
#include "hs_pb.h"
#include "hs_quantity.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MS              1000000LL
#define STATIC_CHECK_NS (5000 * MS)
#define JOIN_RETRY_NS   (1000 * MS)
#define JOIN_WAIT_MS    1000 /* hs_client_new's join: the static pods wait meanwhile */

typedef struct {
    agent_conf_t conf;
    /* flags */
    const char *bus, *node_flag, *labels, *state_dir_flag, *cg_root, *cg_parent_flag, *shim_flag;
    const char *manifests; /* --manifests DIR: static pods */
    /* the bus credential: --credential FILE, --insecure, or --join TOKEN
     * with --broker-key (agent_join.h); else STATE/node.cred if a join
     * saved one, else $HS_CREDENTIAL / $HS_INSECURE */
    const char *credential, *join_token, *broker_key;
    bool insecure;
    agent_join_t *joiner;
    int64_t cpu_milli, memory_bytes, max_pods;
    int64_t heartbeat_ns, status_ns;
    int64_t usage_ns; /* --usage-interval; 0: no usage.<node>/ */
    /* pod networking (agent_net.h) */
    const char *pod_cidr_flag, *node_ip_flag, *cni_data_dir_flag;
    hs_net_conf_t net;
    char node_ip[INET_ADDRSTRLEN], dns_ip[INET_ADDRSTRLEN];
    char *cni_data_dir, *netns_dir;
    /* from the flags and the machine (s_check) */
    char host[HOST_NAME_MAX + 1];
    char *state_dir, *cg_parent, *shim;
    /* set up */
    int lock_fd; /* the state dir's lock (hs_lock.h): one agent per state dir */
    hs_loop_t *loop;
    hs_cg_t *cg;
    agent_state_t *state;
    hs_client_t *client;
    hs_watch_t *watch;
    agent_pods_t *pods;
    agent_logs_t *logs;   /* hsctl logs (agent_logs.c) */
    agent_probe_t *probe; /* probe results and exec probes (agent_probe.c) */
    agent_exec_t *exec;   /* hsctl exec (agent_exec.c) */
    hs_watch_t *cluster;  /* every Node and Service: routes, Service variables */
    /* host-gw routes (agent_routes.c): --no-routes; --node-ip and the
     * cluster's plan are above */
    bool no_routes;
    agent_routes_t *routes;
    char *node_topic; /* ev.node.-//<node>: our Node's events */
    int64_t started_at_ns;
    int64_t ready_since_ns; /* the Ready condition's lastTransitionTime we post */
    bool confirmed;         /* the watch synced once: adopted pods confirmed, READY=1 */
    hs_loop_timer_t *manifests_timer, *join, *heartbeat, *status, *usage_timer;
    agent_usage_t *usage; /* usage.<node>/ (agent_usage.h) */
    char *usage_topic;
    uint64_t usage_samples; /* NodeUsages published */
    uint64_t usage_errors;  /* groups that could not be read (not counting ended runs) */
    hs_loop_turn_t *turn;
    /* fencing (agent_fence.h) */
    agent_fence_t fence;
    int64_t fence_ns; /* --fence-timeout; 0: never */
    hs_loop_timer_t *fence_timer;
    char *fenced_pods; /* what the fence killed, for the Fenced Event */
    char *fence_topic; /* fence.<node>/: hs-prober's confirmations */
    char *fence_lease; /* STATE/fence.lease (conf.fence_lease) */
} self_t;

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: hs-agent [--bus ADDR] [--node-name NAME] [--labels K=V,...] [--cpu Q]\n"
             "                [--memory Q] [--max-pods N] [--state-dir DIR] [--cgroup-root DIR]\n"
             "                [--cgroup-parent NAME] [--shim PATH] [--heartbeat-ms MS]\n"
             "                [--status-interval-ms MS] [--usage-interval D]\n"
             "                [--backoff-initial S] [--backoff-max S]\n"
             "                [--backoff-reset S] [--log-max-bytes N] [--log-max-files N]\n"
             "                [--no-namespaces] [--allow-privileged] [--manifests DIR]\n"
             "                [--pod-network MODE]\n"
             "                [--pod-cidr CIDR] [--node-ip IP] [--no-routes] [--cni-bin-dir DIR]\n"
             "                [--cni-data-dir DIR] [--netns-dir DIR] [--netns-pool N] [--mtu N]\n"
             "                [--cluster-cidr CIDR] [--node-cidr-mask-size N]\n"
             "                [--service-cidr CIDR] [--cluster-domain DOMAIN]\n"
             "                [--allow-host-path] [--fence-timeout D]\n"
             "                [--credential FILE | --insecure | --join TOKEN --broker-key Z85]\n"
             "  --credential FILE      the bus credential (default $HS_CREDENTIAL, else the one\n"
             "                         a join saved, STATE/node.cred, else $HS_PKI/creds/\n"
             "                         node-NODE.cred, HS_PKI defaulting to /etc/homeostat/pki)\n"
             "  --insecure             a plaintext bus (no authentication: tests, demos)\n"
             "  --join TOKEN           join with a token (hsctl token create --node NAME): make\n"
             "                         this node's key, register it, save it as STATE/node.cred\n"
             "  --broker-key Z85       the bus's public key, pinned (printed with the token)\n"
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
             "  --usage-interval D     publish the pods' resource usage on usage.NODE/ every\n"
             "                         D (1s, 500ms, ...; default 1s; 0: never)\n"
             "  --backoff-initial S    delay of the second restart (default 10)\n"
             "  --backoff-max S        crash-loop backoff ceiling (default 300)\n"
             "  --backoff-reset S      a run this long resets the backoff (default 600)\n"
             "  --log-max-bytes N      rotate a container's log at N bytes (default 10 MiB)\n"
             "  --log-max-files N      log files kept per container (default 5)\n"
             "  --no-namespaces        run containers without PID/mount/UTS/IPC namespaces\n"
             "  --allow-privileged     run containers with securityContext.privileged (every\n"
             "                         capability, no seccomp, no no_new_privs) or adding\n"
             "                         capabilities beyond Docker's default set; without it\n"
             "                         they wait with CreateContainerConfigError (static\n"
             "                         pods may add capabilities)\n"
             "  --manifests DIR        run the Pods in DIR's *.yaml/*.yml/*.json as static pods,\n"
             "                         with or without a control plane (re-read every 5 s,\n"
             "                         and at once on SIGHUP)\n"
             "  --pod-network MODE     none (every pod in the node's network, as before),\n"
             "                         bridge (CNI bridge hs0) or ptp (default none)\n"
             "  --pod-cidr CIDR        the node's podCIDR (default: the Node's spec.podCIDR)\n"
             "  --node-ip ADDR         this node's address (Node.status.addresses InternalIP,\n"
             "                         pods' hostIP), which the other nodes route this node's\n"
             "                         pods through (default: the source address the kernel\n"
             "                         picks to reach the bus host)\n"
             "  --no-routes            keep no routes to the other nodes' pods (a loopback\n"
             "                         node address keeps none either)\n"
             "  --cni-bin-dir DIR      the CNI plugins (default /usr/lib/cni)\n"
             "  --cni-data-dir DIR     host-local's leases (default /run/homeostat/cni/NODE)\n"
             "  --netns-dir DIR        pods' pinned network namespaces\n"
             "                         (default /run/homeostat/netns/NODE)\n"
             "  --netns-pool N         namespaces kept prepared, loopback up (default 2)\n"
             "  --mtu N                pod interfaces' MTU (default 1500)\n"
             "  --cni-timeout SECONDS  every CNI plugin call's deadline, after which the\n"
             "                         plugin is killed and the call failed (default 0:\n"
             "                         ADD 60, DEL 30, CHECK 10)\n"
             "  --cluster-cidr, --node-cidr-mask-size, --service-cidr, --cluster-domain:\n"
             "                         the cluster's address plan (default 10.244.0.0/16, 24,\n"
             "                         10.96.0.0/16, cluster.local); pods' resolv.conf names\n"
             "                         the DNS at the 10th address of the Service CIDR\n"
             "  --allow-host-path      let pods use hostPath volumes (refused otherwise: the\n"
             "                         pod waits, CreateContainerConfigError)\n"
             "  --fence-timeout D      no contact with the control plane (hs-prober confirming\n"
             "                         a heartbeat, fence.<node>/) for D (2s, 500ms; default\n"
             "                         2s; 0: never): SIGKILL the at-most-one pods (annotation\n"
             "                         homeostat.io/at-most-one, parallelism-1 Jobs), start\n"
             "                         none until heard again; hs-prober's --fence-timeout\n"
             "                         must be the same\n"
             "Hollow nodes (scale tests, benchmarks) are another program: hs-hollow N.\n");
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

/* A blocking wait's bound (ms): at most max_ms, and never past the fence
 * deadline, whose timer cannot run meanwhile (agent_fence.h: the kill is
 * due then). At least 1. */
static int s_block_ms (const self_t *self, int max_ms)
{
    int64_t at = agent_fence_deadline (&self->fence);
    if (at == INT64_MAX) return max_ms;
    int64_t left = (at - hs_mono_ns ()) / MS;
    return left < 1 ? 1 : left < max_ms ? (int)left : max_ms;
}

static int s_call (self_t *self, Hs__Write *w, const char *what)
{
    Hs__Ack *ack = NULL;
    /* Short: static pods (and the fence timer) wait while this does. */
    hs_call_opts_t opts = {.timeout_ms = s_block_ms (self, 2000)};
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
                            .uts = &u,
                            .internal_ip = self->node_ip};
    return s_call (self, hs_write_new (HS__OP__OP_UPDATE_STATUS, agent_node_status (&in)),
                   "posting the Node's status");
}

/* The podCIDR pods get their IPs from: --pod-cidr, else the Node's. */
static void s_take_cidr (self_t *self, const Hs__Node *node)
{
    const char *stored = node && node->spec ? node->spec->pod_cidr : NULL;
    if (self->pod_cidr_flag) {
        if (!hs_empty (stored) && !hs_streq (stored, self->pod_cidr_flag))
            hs_log_once (HS_LOG_WARN, "agent:pod-cidr",
                         "node %s: --pod-cidr %s overrides the Node's spec.podCIDR %s",
                         self->conf.node, self->pod_cidr_flag, stored);
        agent_pods_set_pod_cidr (self->pods, self->pod_cidr_flag);
        return;
    }
    if (!hs_empty (stored)) agent_pods_set_pod_cidr (self->pods, stored);
}

/* After creating the Node: the podCIDR the store gave it. */
static void s_read_cidr (self_t *self)
{
    if (self->pod_cidr_flag) {
        s_take_cidr (self, NULL);
        return;
    }
    hs_kind_t k = HS_KIND_NODE;
    hs_db_snapshot_t snap = {0};
    int r = hs_client_snapshot (self->client, &k, 1, NULL, 5000, &snap);
    if (r < 0) {
        log_warn ("reading the Node's podCIDR: %s (its next event brings it)", strerror (-r));
        return;
    }
    for (size_t i = 0; i < snap.n_objects; i++)
        if (hs_streq (hs_obj_meta (snap.objects[i])->name, self->conf.node))
            s_take_cidr (self, snap.objects[i]->node);
    hs_db_snapshot_free (&snap);
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
    s_take_cidr (self, upd->node);
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
    /* --pod-cidr: the Node says so too (the kubelet's --pod-cidr), so
     * other nodes route to it. Otherwise the store assigns one. */
    if (self->pod_cidr_flag && o->node->spec) {
        hs_pb_set_str (&o->node->spec->pod_cidr, self->pod_cidr_flag);
        char *c = NULL;
        hs_pb_set_str (&c, self->pod_cidr_flag);
        hs_pb_push ((void ***)&o->node->spec->pod_cidrs, &o->node->spec->n_pod_cidrs, c);
    }
    Hs__Object *again = hs_pb_dup (o);
    Hs__Write *cw = hs_write_new (HS__OP__OP_CREATE, o);
    Hs__Ack *ack = NULL;
    hs_call_opts_t opts = {.timeout_ms = s_block_ms (self, 2000)};
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
        if (r == 0) s_read_cidr (self);
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
    hb.interval_ms = (uint32_t)(self->heartbeat_ns / MS);
    /* hsctl get components: OWNED "running/pods of the node (%)" */
    hb.owned = agent_pods_running (self->pods);
    hb.total = agent_pods_count (self->pods);
    hb.garbage = hs_bus_garbage (hs_client_bus (self->client));
    char *nodes[1] = {(char *)self->conf.node};
    hb.nodes = nodes;
    hb.n_nodes = 1;
    hb.sent_mono_ns = hs_mono_ns (); /* echoed on fence.<node>/: our fence contact */
    const char *names[] = {"probe_results", "exec_probes",   "probe_refused", "exec_sessions",
                           "exec_refused",  "route_syncs",   "routes_added",  "routes_deleted",
                           "route_errors",  "usage_samples", "usage_errors",  "fences"};
    const uint64_t values[] = {agent_probe_results (self->probe),
                               agent_probe_execs (self->probe),
                               agent_probe_refused (self->probe),
                               agent_exec_started (self->exec),
                               agent_exec_refused (self->exec),
                               agent_routes_counter (self->routes, AGENT_ROUTES_SYNCS),
                               agent_routes_counter (self->routes, AGENT_ROUTES_ADDED),
                               agent_routes_counter (self->routes, AGENT_ROUTES_DELETED),
                               agent_routes_counter (self->routes, AGENT_ROUTES_ERRORS),
                               self->usage_samples,
                               self->usage_errors,
                               self->fence.fences};
    Hs__Counter cs[HS_ARRAY_LEN (names)];
    Hs__Counter *cp[HS_ARRAY_LEN (names)];
    hs_heartbeat_counters (&hb, cs, cp, names, values, HS_ARRAY_LEN (names));
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
    if (strcmp (topic, self->node_topic) != 0) return; /* ev.node.-//<node>2 */
    const Hs__Node *node = agent_rules_event_node (env);
    if (!node || !hs_streq (node->metadata->name, self->conf.node)) return;
    s_take_cidr (self, node);
    int64_t since = 0;
    if (agent_rules_node_ready (node, &since)) {
        if (since > 0) self->ready_since_ns = since;
        return;
    }
    int64_t now = hs_mono_ns ();
    if (hs_loop_timer_at (self->status) <= now) return; /* already due */
    log_info ("node %s: the store shows it not Ready; re-posting Ready=True", self->conf.node);
    self->ready_since_ns = hs_now_ns ();
    hs_loop_timer_set (self->status, now);
}

/* ------------------------------------------------------------------ the loop */

/* The loop's turn, after every wake-up: one turn of the modules. Returns
 * the earliest deadline they gave. */
static int64_t s_turn (void *arg)
{
    self_t *self = arg;
    if (!self->confirmed && self->watch && hs_watch_synced (self->watch)) {
        agent_pods_confirm (self->pods);
        self->confirmed = true;
        /* registered, and the node's pods are in: ready */
        hs_notify_ready ("registered; watching the node's pods");
    }
    int64_t at = agent_pods_work (self->pods);
    int64_t lt = agent_logs_work (self->logs), pt = agent_probe_work (self->probe);
    int64_t et = agent_exec_work (self->exec), rt = agent_routes_work (self->routes);
    if (rt < at) at = rt;
    if (lt < at) at = lt;
    if (pt < at) at = pt;
    if (et < at) at = et;
    return at;
}

/* Re-reads --manifests: new, changed and removed static pods
 * (agent_pods_set_static); every STATIC_CHECK_NS, and at once on SIGHUP. */
static void s_on_manifests (void *arg)
{
    self_t *self = arg;
    hs_loop_timer_set (self->manifests_timer, hs_mono_ns () + STATIC_CHECK_NS);
    Hs__Pod **pods = NULL;
    int n = agent_static_load (self->manifests, self->conf.node, &pods);
    if (n < 0) return; /* logged; what runs keeps running */
    agent_pods_set_static (self->pods, pods, (size_t)n);
    for (int i = 0; i < n; i++) hs_pb_free (pods[i]);
    free (pods);
}

/* One container of the usage sample: its group's figures. A group that
 * is gone ended with its run meanwhile (left out); another failure is
 * counted and said once. */
static void s_usage_run (void *arg, const agent_run_t *run)
{
    self_t *self = arg;
    hs_cg_usage_t u;
    int r = hs_cg_usage (self->cg, run->cgroup, &u);
    if (r < 0) {
        if (r == -ENOENT) return;
        self->usage_errors++;
        hs_log_once (HS_LOG_WARN, "agent:usage",
                     "cannot read the resource usage of pod %s/%s container %s: %s (further "
                     "failures not logged)",
                     run->ns, run->name, run->container, hs_cg_last_error (self->cg));
        return;
    }
    agent_usage_add (self->usage, run, &u);
}

/* Every --usage-interval: one NodeUsage on usage.<node>/. */
static void s_on_usage (void *arg)
{
    self_t *self = arg;
    int64_t now = hs_mono_ns ();
    hs_loop_timer_set (self->usage_timer, now + self->usage_ns);
    agent_host_usage_t host;
    agent_usage_read_host (NULL, &host);
    agent_usage_begin (self->usage, now, hs_now_ns (), &host);
    agent_pods_each_run (self->pods, s_usage_run, self);
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_USAGE;
    env.usage = (Hs__NodeUsage *)agent_usage_end (self->usage);
    if (hs_bus_publish (hs_client_bus (self->client), self->usage_topic, &env) == 0)
        self->usage_samples++;
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
}

static void s_on_heartbeat (void *arg)
{
    self_t *self = arg;
    s_heartbeat (self);
    hs_loop_timer_set (self->heartbeat, hs_mono_ns () + self->heartbeat_ns);
}

static void s_on_status (void *arg)
{
    self_t *self = arg;
    /* Armed first: a not-Ready event seen during the post (s_on_node)
     * asks for another one at once. */
    hs_loop_timer_set (self->status, hs_mono_ns () + self->status_ns);
    s_post_status (self);
}

/* The Service variables of a container starting now (agent_svcenv.h), from
 * the Services the cluster watch holds. */
static char **s_pod_env (void *arg, const Hs__Pod *pod)
{
    self_t *self = arg;
    if (!self->cluster || !pod->metadata || !agent_svcenv_enabled (pod->spec)) return NULL;
    const Hs__Object **objs = NULL;
    size_t n = hs_watch_list (self->cluster, HS_KIND_SERVICE, &objs);
    char **env = agent_svcenv_build (pod->metadata->namespace_, objs, n);
    free (objs);
    return env;
}

static void s_on_cluster (void *arg, Hs__EventType type, const Hs__Object *obj,
                          const Hs__Object *old)
{
    self_t *self = arg;
    (void)type, (void)old;
    hs_kind_t kind = hs_obj_kind (obj);
    if (kind == HS_KIND_NODE) agent_routes_changed (self->routes);
    const Hs__ObjectMeta *m = hs_obj_meta (obj);
    if ((kind == HS_KIND_CONFIGMAP || kind == HS_KIND_SECRET) && m && self->pods)
        agent_pods_config_changed (self->pods, kind, m->namespace_, m->name);
}

/* The ConfigMaps and Secrets containers use (agent_envfrom.h), from the
 * cluster watch's cache; none while offline. */
static const Hs__Object *s_lookup (void *arg, hs_kind_t kind, const char *ns, const char *name)
{
    self_t *self = arg;
    return self->cluster ? hs_watch_get (self->cluster, kind, ns, name) : NULL;
}

/* host-gw routes, unless this node's address is loopback (every agent of
 * a one-machine set shares one namespace: routes through 127.0.0.1 would
 * only break it) or --no-routes. */
static void s_start_routes (self_t *self)
{
    uint32_t ip = 0;
    hs_ip_parse (self->node_ip, &ip);
    if (self->no_routes) return;
    if ((ip >> 24) == 127) {
        log_info ("node address %s is loopback: no routes to other nodes' pods (--node-ip)",
                  self->node_ip);
        return;
    }
    self->routes =
        agent_routes_new (self->loop, self->conf.node, ip, &self->net.service, &self->net.cluster);
    agent_routes_set_watch (self->routes, self->cluster);
}

/* The watch of every Node, Service, ConfigMap and Secret, before the
 * pods' so that the first containers start with the Service variables and
 * their configuration: it waits (a second or two at most, once) for its
 * first snapshot. ConfigMaps and Secrets of every namespace: a node's
 * identity may read them all until the store filters reads per node. */
static void s_watch_cluster (self_t *self)
{
    hs_kind_t kinds[] = {HS_KIND_NODE, HS_KIND_SERVICE, HS_KIND_CONFIGMAP, HS_KIND_SECRET};
    hs_watch_opts_t wo = {.kinds = kinds, .n_kinds = 4, .fn = s_on_cluster, .arg = self};
    self->cluster = hs_client_watch (self->client, &wo);
    if (!self->cluster) {
        log_error ("cannot watch Nodes and Services: containers start without the Service "
                   "variables");
        return;
    }
    int r = hs_watch_wait_synced (self->cluster, s_block_ms (self, 2000));
    if (r < 0)
        log_warn ("the Services are not read yet (%s): the first containers may start without "
                  "their variables",
                  strerror (-r));
}

/* ------------------------------------------------------------------ fencing */

static void s_fence_arm (self_t *self)
{
    int64_t at = agent_fence_deadline (&self->fence);
    if (self->fence_timer) hs_loop_timer_set (self->fence_timer, at == INT64_MAX ? HS_NEVER : at);
}

/* The fence timeout passed without contact: the at-most-one pods go. */
static void s_on_fence (void *arg)
{
    self_t *self = arg;
    /* Messages a blocking call held back first: a contact among them is
     * no reason to fence. */
    if (self->client) hs_client_process (self->client, 0);
    int64_t now = hs_mono_ns ();
    if (agent_fence_check (&self->fence, now)) {
        char *killed = agent_pods_fence (self->pods, true);
        log_warn ("fenced: no contact with the control plane for %lld ms (--fence-timeout "
                  "%lld ms): %s%s",
                  (long long)((now - self->fence.last_contact) / MS),
                  (long long)(self->fence_ns / MS), killed ? "killed " : "no at-most-one pod ran",
                  killed ? killed : "");
        free (self->fenced_pods);
        self->fenced_pods = killed;
    }
    s_fence_arm (self);
}

/* The shims' lease (hs-shim --fence-lease): the fence deadline, written
 * atomically. Only a contact moves it on: a restarted agent does not
 * extend what its predecessor left. */
static void s_write_lease (self_t *self)
{
    const char *path = self->conf.fence_lease;
    int64_t at = agent_fence_deadline (&self->fence);
    if (!path || at == INT64_MAX) return;
    _cleanup_free_ char *tmp = hs_sprintf ("%s.tmp", path);
    FILE *f = fopen (tmp, "we");
    int r = f && fprintf (f, "%lld\n", (long long)at) > 0 ? 0 : -EIO;
    if (f && fclose (f) != 0) r = -EIO;
    if (r == 0 && rename (tmp, path) < 0) r = -errno;
    if (r < 0) {
        unlink (tmp);
        hs_log_once (HS_LOG_WARN, "agent:lease",
                     "cannot write the fence lease %s: %s; the shims of at-most-one pods kill "
                     "them when it runs out (not logged again)",
                     path, strerror (-r));
    }
}

/* The lease a previous agent left (monotonic ns), or 0. */
static int64_t s_read_lease (self_t *self)
{
    const char *path = self->conf.fence_lease;
    if (!path) return 0;
    FILE *f = fopen (path, "re");
    if (!f) return 0;
    long long at = 0;
    if (fscanf (f, "%lld", &at) != 1 || at < 0) at = 0;
    fclose (f);
    return at;
}

/* Contact with the control plane: the fence timer starts again (and the
 * shims' lease); a fence ends, and its Event goes out (the store answers
 * again). */
static void s_contact (self_t *self, int64_t sent)
{
    int64_t now = hs_mono_ns ();
    int64_t fenced_at = self->fence.fenced_at;
    bool unfenced = agent_fence_contact (&self->fence, sent, now);
    s_write_lease (self);
    if (unfenced && !self->fenced_pods) {
        /* nothing was killed (a start without a lease, a node with no
         * at-most-one pod): no Event */
        log_info ("hs-prober confirmed our heartbeats: unfenced (nothing was killed)");
        agent_pods_fence (self->pods, false);
    } else if (unfenced) {
        agent_pods_fence (self->pods, false);
        _cleanup_free_ char *msg = hs_sprintf (
            "Fenced: node %s had no contact with the control plane for --fence-timeout %lld ms; "
            "killed its at-most-one pods: %s; fenced for %lld ms",
            self->conf.node, (long long)(self->fence_ns / MS),
            self->fenced_pods ? self->fenced_pods : "none", (long long)((now - fenced_at) / MS));
        log_info ("heard the control plane again: unfenced (%s)", msg);
        hs_event_send (self->client, "hs-agent", self->conf.node, self->host, "node", "",
                       self->conf.node, NULL, "Warning", "Fenced", msg);
        free (self->fenced_pods);
        self->fenced_pods = NULL;
    }
    s_fence_arm (self);
}

/* fence.<node>/ (only hs-prober's identity may publish it: the broker's
 * policy): the send time of the newest heartbeat it heard from us. */
static void s_on_contact (void *arg, const char *topic, const Hs__Envelope *env)
{
    self_t *self = arg;
    if (strcmp (topic, self->fence_topic) != 0) return;
    if (env->body_case != HS__ENVELOPE__BODY_HEARTBEAT) return;
    const Hs__ComponentHeartbeat *hb = env->heartbeat;
    if (!hs_streq (hb->instance, self->conf.node) || hb->sent_mono_ns <= 0) return;
    s_contact (self, hb->sent_mono_ns);
}

/* Registered: the node's pods, logs, probes, our Node's events, heartbeats. */
static void s_online (self_t *self)
{
    self->heartbeat = hs_loop_timer (self->loop, hs_mono_ns (), s_on_heartbeat, self);
    self->status = hs_loop_timer (self->loop, hs_mono_ns () + self->status_ns, s_on_status, self);
    if (self->usage_ns > 0) {
        self->usage = agent_usage_new (self->conf.node, (uint32_t)(self->usage_ns / MS));
        self->usage_topic = hs_sprintf ("usage.%s/", self->conf.node);
        self->usage_timer = hs_loop_timer (self->loop, hs_mono_ns (), s_on_usage, self);
    }
    s_watch_cluster (self);
    s_start_routes (self);
    agent_pods_set_online (self->pods, self->client);
    hs_kind_t kinds[] = {HS_KIND_POD};
    hs_watch_opts_t wo = {.kinds = kinds,
                          .n_kinds = 1,
                          .pod_node = self->conf.node,
                          .fn = agent_pods_on_event,
                          .arg = self->pods};
    self->watch = hs_client_watch (self->client, &wo);
    self->logs = agent_logs_new (self->client, self->pods, self->conf.node);
    self->probe =
        agent_probe_new (self->client, self->loop, self->pods, self->conf.node, self->conf.shim);
    self->exec =
        agent_exec_new (self->client, self->loop, self->pods, self->conf.node, self->conf.shim);
    /* fencing: the prober's confirmations are the only contact */
    self->fence_topic = hs_sprintf ("fence.%s/", self->conf.node);
    if (self->fence_ns > 0) {
        int rc = hs_client_on (self->client, self->fence_topic, s_on_contact, self);
        if (rc < 0)
            log_error ("cannot subscribe to %s: %s; the at-most-one pods will be fenced",
                       self->fence_topic, strerror (-rc));
    }
    self->node_topic = hs_topic_event (HS_KIND_NODE, "-", "", self->conf.node);
    int r = hs_client_on (self->client, self->node_topic, s_on_node, self);
    if (r < 0)
        log_error ("cannot subscribe to %s: %s; a Node marked not Ready waits for the next "
                   "status re-post",
                   self->node_topic, strerror (-r));
}

/* Joins the bus, then registers the Node (the scheduler binds only to
 * known nodes): each try blocks for at most a second or two, and the
 * static pods run between tries, so they need no control plane. */
static void s_on_join (void *arg)
{
    self_t *self = arg;
    int r = 0;
    if (!self->client) {
        if (self->joiner) {
            r = agent_join_connect (self->joiner, self->bus, self->conf.node, JOIN_WAIT_MS,
                                    &self->client);
            if (r == -EAGAIN) r = -ETIMEDOUT;
            if (r < 0 && r != -ETIMEDOUT) {
                hs_loop_exit (self->loop, 1); /* said why, in one line */
                return;
            }
        } else {
            r = hs_client_new (self->bus, "hs-agent", self->conf.node, JOIN_WAIT_MS, &self->client);
        }
        if (r == 0) r = hs_client_attach (self->client, self->loop);
        if (r == -EKEYREJECTED) {
            log_error ("cannot join the bus: it refused node %s's key (revoked? `hsctl keys "
                       "list`; a new one: hsctl keys create node %s, or a join token)",
                       self->conf.node, self->conf.node);
            hs_loop_exit (self->loop, 1);
            return;
        }
        if (r < 0 && r != -ETIMEDOUT) {
            log_error ("cannot join the bus: %s", strerror (-r));
            hs_loop_exit (self->loop, 1);
            return;
        }
    }
    if (r == 0 && s_register (self) == 0) {
        s_online (self);
        return;
    }
    /* a second of the pods' own before the next try */
    hs_loop_timer_set (self->join, hs_mono_ns () + JOIN_RETRY_NS);
}

static void s_on_signal (void *arg, int signo)
{
    self_t *self = arg;
    if (signo == SIGHUP) {
        log_info ("SIGHUP: re-reading %s", self->manifests ? self->manifests : "(no --manifests)");
        if (self->manifests) hs_loop_timer_set (self->manifests_timer, hs_mono_ns ());
        return;
    }
    log_info ("signal %d: stopping (the workloads keep running)", signo);
    hs_loop_exit (self->loop, 0);
}

/* ------------------------------------------------------------------ the daemon */

static const struct option s_options[] = {
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
    {"usage-interval", required_argument, NULL, 'u' + 256},
    {"backoff-initial", required_argument, NULL, '1'},
    {"backoff-max", required_argument, NULL, '2'},
    {"backoff-reset", required_argument, NULL, '3'},
    {"log-max-bytes", required_argument, NULL, '4'},
    {"log-max-files", required_argument, NULL, '5'},
    {"no-namespaces", no_argument, NULL, 'N'},
    {"allow-privileged", no_argument, NULL, 'V'},
    {"manifests", required_argument, NULL, 'M'},
    {"pod-network", required_argument, NULL, 'W'},
    {"pod-cidr", required_argument, NULL, 'C'},
    {"node-ip", required_argument, NULL, 'A'},
    {"no-routes", no_argument, NULL, 'X'},
    {"cni-bin-dir", required_argument, NULL, 'B'},
    {"cni-data-dir", required_argument, NULL, 'D'},
    {"netns-dir", required_argument, NULL, 'E'},
    {"mtu", required_argument, NULL, 'U'},
    {"netns-pool", required_argument, NULL, 'O'},
    {"cni-timeout", required_argument, NULL, 'T'},
    {"cluster-cidr", required_argument, NULL, 'x'},
    {"node-cidr-mask-size", required_argument, NULL, 'y'},
    {"service-cidr", required_argument, NULL, 'z'},
    {"cluster-domain", required_argument, NULL, 'w'},
    {"allow-host-path", no_argument, NULL, 'h' + 256},
    {"credential", required_argument, NULL, 'K'},
    {"insecure", no_argument, NULL, 'Z'},
    {"join", required_argument, NULL, 'J'},
    {"broker-key", required_argument, NULL, 'G'},
    {"fence-timeout", required_argument, NULL, 'f' + 256},
    {NULL, 0, NULL, 0},
};

static const char *s_flag_name (int ch)
{
    static char name[32];
    for (const struct option *o = s_options; o->name; o++)
        if (o->val == ch) {
            snprintf (name, sizeof name, "--%s", o->name);
            return name;
        }
    return "?";
}

static int s_flag (void *arg, int ch, const char *v)
{
    self_t *self = arg;
    agent_conf_t *conf = &self->conf;
    const char *flag = s_flag_name (ch), *prog = "hs-agent";
    int64_t n;
    switch (ch) {
    case 'b': self->bus = v; return 0;
    case 'n': self->node_flag = v; return 0;
    case 'l': self->labels = v; return 0;
    case 's': self->state_dir_flag = v; return 0;
    case 'R': self->cg_root = v; return 0;
    case 'P': self->cg_parent_flag = v; return 0;
    case 'S': self->shim_flag = v; return 0;
    case 'N': conf->no_namespaces = true; return 0;
    case 'V': conf->allow_privileged = true; return 0;
    case 'M': self->manifests = v; return 0;
    case 'W':
        if (hs_streq (v, "none") || agent_cni_mode_valid (v)) {
            conf->pod_network = v;
            return 0;
        }
        fprintf (stderr, "hs-agent: --pod-network: none, bridge or ptp, not \"%s\"\n", v);
        return -1;
    case 'C': {
        hs_cidr_t c;
        if (hs_cidr_parse (v, &c) == 0 && c.prefix <= 30) {
            self->pod_cidr_flag = v;
            return 0;
        }
        fprintf (stderr, "hs-agent: --pod-cidr: not an IPv4 network of 4 addresses or more: %s\n",
                 v);
        return -1;
    }
    case 'A': {
        uint32_t ip;
        if (hs_ip_parse (v, &ip) == 0) {
            self->node_ip_flag = v;
            return 0;
        }
        fprintf (stderr, "hs-agent: --node-ip: not an IPv4 address: %s\n", v);
        return -1;
    }
    case 'X': self->no_routes = true; return 0;
    case 'h' + 256: conf->allow_host_path = true; return 0;
    case 'f' + 256:
        if (hs_fence_duration (v, &self->fence_ns) == 0) return 0;
        fprintf (stderr, "hs-agent: --fence-timeout: not a duration up to 1h (2s, 500ms, 0): %s\n",
                 v);
        return -1;
    case 'K': self->credential = v; return 0;
    case 'Z': self->insecure = true; return 0;
    case 'J':
        if (!hs_token_valid (v, NULL)) {
            fprintf (stderr,
                     "hs-agent: --join: not a join token (\"<id>.<secret>\": 6 and 16 of a-z, "
                     "0-9; hsctl token create --node NAME prints one)\n");
            return -1;
        }
        self->join_token = v;
        return 0;
    case 'G':
        if (!hs_cred_key_ok (v)) {
            fprintf (stderr, "hs-agent: --broker-key: not a 40-character Z85 key: %s\n", v);
            return -1;
        }
        self->broker_key = v;
        return 0;
    case 'B': conf->cni_bin_dir = v; return 0;
    case 'D': self->cni_data_dir_flag = v; return 0;
    case 'E': conf->netns_dir = v; return 0;
    case 'O':
        if (hs_daemon_int (prog, flag, v, 0, 64, &n) < 0) return -1;
        conf->netns_pool = (int)n;
        return 0;
    case 'T':
        if (hs_daemon_int (prog, flag, v, 0, 3600, &n) < 0) return -1;
        conf->cni_timeout_s = (int)n;
        return 0;
    case 'U':
        if (hs_daemon_int (prog, flag, v, 576, 65535, &n) < 0) return -1;
        conf->mtu = (int)n;
        return 0;
    case 'x':
    case 'y':
    case 'z':
    case 'w': {
        const char *why = NULL;
        if (hs_net_flag (&self->net, flag + 2, v, &why) == 0) return 0;
        fprintf (stderr, "hs-agent: %s: %s: %s\n", flag, why ? why : "invalid", v);
        return -1;
    }
    case 'c':
        if (hs_quantity_cpu_milli (v, &self->cpu_milli) == 0 && self->cpu_milli > 0) return 0;
        fprintf (stderr, "hs-agent: --cpu: not a CPU quantity: %s\n", v);
        return -1;
    case 'm':
        if (hs_quantity_bytes (v, &self->memory_bytes) == 0 && self->memory_bytes > 0) return 0;
        fprintf (stderr, "hs-agent: --memory: not a memory quantity: %s\n", v);
        return -1;
    case 'p': return hs_daemon_int (prog, flag, v, 1, INT_MAX, &self->max_pods);
    case 'H': return hs_daemon_ms (prog, flag, v, INT_MAX, &self->heartbeat_ns);
    case 'I': return hs_daemon_ms (prog, flag, v, INT_MAX, &self->status_ns);
    case 'u' + 256:
        if (agent_usage_parse_interval (v, &self->usage_ns) == 0) return 0;
        fprintf (stderr, "hs-agent: --usage-interval: not a duration of 100ms to 1h, or 0: %s\n",
                 v);
        return -1;
    case '1': return hs_daemon_seconds (prog, flag, v, 86400 * 365, &conf->backoff_initial_ns);
    case '2': return hs_daemon_seconds (prog, flag, v, 86400 * 365, &conf->backoff_max_ns);
    case '3': return hs_daemon_seconds (prog, flag, v, 86400 * 365, &conf->backoff_reset_ns);
    /* hs-shim's bounds: any record fits an empty file. */
    case '4': return hs_daemon_int (prog, flag, v, 32768, INT_MAX, &conf->log_max_bytes);
    case '5':
        if (hs_daemon_int (prog, flag, v, 1, 100, &n) < 0) return -1;
        conf->log_max_files = (int)n;
        return 0;
    default: return -1;
    }
}

/* --node-ip, or the source address the kernel picks to reach the bus host
 * (an ipc:// bus has none: the first address of an interface up). */
static int s_node_ip (self_t *self)
{
    uint32_t ip = 0;
    if (self->node_ip_flag) {
        if (hs_ip_parse (self->node_ip_flag, &ip) < 0) {
            fprintf (stderr, "hs-agent: --node-ip: not an IPv4 address: %s\n", self->node_ip_flag);
            return -1;
        }
    } else
        ip = agent_routes_default_ip (self->bus);
    hs_ip_format (ip, self->node_ip);
    return 0;
}

/* The defaults that depend on the machine and the other flags. */
/* The bus credential, from the flags (see self_t). */
static int s_check_credential (self_t *self)
{
    if (!!self->credential + self->insecure + !!self->join_token > 1) {
        fprintf (stderr, "hs-agent: --credential, --insecure and --join exclude each other\n");
        return -1;
    }
    if (self->join_token && !self->broker_key) {
        fprintf (stderr, "hs-agent: --join needs --broker-key Z85, the bus's public key (hsctl "
                         "token create prints the whole line)\n");
        return -1;
    }
    if (self->broker_key && !self->join_token) {
        fprintf (stderr, "hs-agent: --broker-key goes with --join\n");
        return -1;
    }
    if (self->insecure) {
        hs_bus_use_insecure ();
    } else if (self->credential) {
        hs_bus_use_credential (self->credential);
    } else if (self->join_token) {
        self->joiner =
            agent_join_new (self->conf.node, self->state_dir, self->join_token, self->broker_key);
    } else {
        /* Neither flag nor HS_CREDENTIAL: a node that joined once keeps its
         * credential in its state dir; on the control-plane host, `hsctl
         * init --node NAME` made one in the PKI directory. */
        _cleanup_free_ char *saved = agent_join_cred_path (self->state_dir);
        const char *insecure = getenv ("HS_INSECURE"), *pki = getenv ("HS_PKI");
        _cleanup_free_ char *made = hs_sprintf (
            "%s/creds/node-%s.cred", hs_empty (pki) ? "/etc/homeostat/pki" : pki, self->conf.node);
        if (hs_empty (getenv ("HS_CREDENTIAL")) &&
            (hs_empty (insecure) || hs_streq (insecure, "0"))) {
            if (access (saved, F_OK) == 0)
                hs_bus_use_credential (saved);
            else if (access (made, F_OK) == 0)
                hs_bus_use_credential (made);
        }
    }
    return 0;
}

static int s_check (void *arg, int argc, char **argv)
{
    self_t *self = arg;
    agent_conf_t *conf = &self->conf;
    if (argc > 0) {
        fprintf (stderr, "hs-agent: unexpected argument: %s\n", argv[0]);
        s_usage (stderr);
        return -1;
    }
    gethostname (self->host, sizeof self->host - 1);
    conf->node = self->node_flag ? self->node_flag : self->host[0] ? self->host : "node";
    self->state_dir = self->state_dir_flag ? hs_strdup (self->state_dir_flag)
                                           : hs_sprintf ("/var/lib/homeostat/agent-%s", conf->node);
    conf->state_dir = self->state_dir;
    if (s_check_credential (self) < 0) return -1;
    self->cg_parent = self->cg_parent_flag ? hs_strdup (self->cg_parent_flag)
                                           : hs_sprintf ("homeostat/%s", conf->node);
    char exe[PATH_MAX];
    ssize_t sl = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    exe[sl > 0 ? sl : 0] = '\0';
    char *slash = strrchr (exe, '/');
    if (slash) slash[1] = '\0';
    self->shim = self->shim_flag ? hs_strdup (self->shim_flag) : hs_sprintf ("%shs-shim", exe);
    conf->shim = self->shim;
    if (access (conf->shim, X_OK) != 0) {
        fprintf (stderr, "hs-agent: the shim %s: %s (--shim PATH)\n", conf->shim, strerror (errno));
        return -1;
    }
    const char *why = NULL;
    if (hs_net_conf_check (&self->net, &why) < 0) {
        fprintf (stderr, "hs-agent: the cluster's address plan: %s\n", why);
        return -1;
    }
    if (s_node_ip (self) < 0) return -1;
    conf->pod_env = s_pod_env;
    conf->pod_env_free = agent_svcenv_free;
    conf->pod_env_arg = self;
    conf->lookup = s_lookup;
    conf->lookup_arg = self;
    hs_ip_format (hs_net_dns_ip (&self->net), self->dns_ip);
    conf->dns_ip = self->dns_ip;
    conf->domain = self->net.domain;
    conf->node_ip = self->node_ip;
    self->cni_data_dir = self->cni_data_dir_flag ? hs_strdup (self->cni_data_dir_flag)
                                                 : hs_sprintf ("/run/homeostat/cni/%s", conf->node);
    conf->cni_data_dir = self->cni_data_dir;
    /* Per node, as the leases: two agents on one host (the native launcher,
     * tests) must never take or sweep each other's prepared namespaces. */
    if (!conf->netns_dir) {
        self->netns_dir = hs_sprintf ("/run/homeostat/netns/%s", conf->node);
        conf->netns_dir = self->netns_dir;
    }
    if (!self->cpu_milli) self->cpu_milli = sysconf (_SC_NPROCESSORS_ONLN) * 1000;
    if (!self->memory_bytes) self->memory_bytes = s_mem_total ();
    return 0;
}

/* The record, the cgroups, the adopted pods; then the loop's sources. The
 * bus is not needed: s_on_join looks for it from the first turn on. */
static int s_setup (void *arg, hs_loop_t *loop)
{
    self_t *self = arg;
    agent_conf_t *conf = &self->conf;
    self->loop = loop;
    self->started_at_ns = self->ready_since_ns = hs_now_ns ();
    /* The shims' daemons are orphaned by their first process: as subreaper
     * the agent becomes their parent and reaps them (agent_pods_work), so
     * no zombie waits for an init that may not reap. */
    prctl (PR_SET_CHILD_SUBREAPER, 1);
    _cleanup_free_ char *dbdir = hs_sprintf ("%s/db", conf->state_dir);
    int r = agent_mkdir_p (conf->state_dir);
    if (r < 0) {
        log_error ("cannot make the state dir %s: %s", conf->state_dir, strerror (-r));
        return 1;
    }
    /* Before anything else: a second agent of this node would fight the
     * first over its pods, their shims and cgroups. */
    pid_t holder = 0;
    r = hs_lock_dir (conf->state_dir, &self->lock_fd, &holder);
    if (r == -EBUSY) {
        char who[32];
        log_error ("node %s: the state dir %s is held by another hs-agent (%s); stop it first, "
                   "or run this one with another --node-name and --state-dir",
                   conf->node, conf->state_dir, hs_lock_who (holder, who, sizeof who));
        return 1;
    }
    if (r < 0) {
        log_error ("cannot lock the state dir %s: %s", conf->state_dir, strerror (-r));
        return 1;
    }
    r = agent_state_open (dbdir, &self->state);
    if (r < 0) {
        log_error ("cannot open the agent's record in %s: %s", dbdir, strerror (-r));
        return 1;
    }
    r = hs_cg_open (self->cg_root, self->cg_parent, &self->cg);
    if (r < 0) {
        log_error ("cannot set up cgroups under %s/%s: %s",
                   self->cg_root ? self->cg_root : "/sys/fs/cgroup", self->cg_parent,
                   strerror (-r));
        return 1;
    }
    log_info ("node %s: cgroup v%d, parent %s, state in %s, %lldm CPU, %lld bytes of memory",
              conf->node, hs_cg_version (self->cg), self->cg_parent, conf->state_dir,
              (long long)self->cpu_milli, (long long)self->memory_bytes);
    _cleanup_free_ char *missing = hs_cg_unavailable (self->cg);
    if (missing)
        log_warn ("cgroup controllers not available to pods: %s; a pod whose limits need one "
                  "does not start (StartError), pods without such limits run",
                  missing);
    if (!hs_streq (conf->pod_network, "none")) {
        r = hs_mkdir_p (conf->netns_dir, 0755);
        if (r < 0) {
            log_error ("cannot make the network namespaces' dir %s: %s", conf->netns_dir,
                       strerror (-r));
            return 1;
        }
        log_info ("pod network %s: plugins in %s, leases in %s, namespaces in %s, node IP %s",
                  conf->pod_network, conf->cni_bin_dir, conf->cni_data_dir, conf->netns_dir,
                  conf->node_ip);
    }
    /* the shims of at-most-one pods watch it (s_write_lease) */
    if (self->fence_ns > 0) {
        self->fence_lease = hs_sprintf ("%s/fence.lease", conf->state_dir);
        conf->fence_lease = self->fence_lease;
    }
    self->pods = agent_pods_new (conf, self->cg, self->state, loop);
    r = agent_pods_adopt (self->pods);
    if (r < 0)
        log_error ("cannot read the agent's record: %s; starting without it", strerror (-r));
    else if (r > 0)
        log_info ("adopted %d pods from the agent's record", r);
    self->turn = hs_loop_turn (loop, s_turn, self);
    /* The static pods start now, before the first try to join the bus. */
    if (self->manifests) {
        self->manifests_timer = hs_loop_timer (loop, HS_NEVER, s_on_manifests, self);
        s_on_manifests (self);
    }
    self->join = hs_loop_timer (loop, hs_mono_ns (), s_on_join, self);
    /* The fence counts from the lease our predecessor left (fenced at once
     * without one): a restart never extends it, and no at-most-one pod
     * starts before hs-prober confirms a heartbeat (agent_fence_start). */
    agent_fence_init (&self->fence, self->fence_ns,
                      agent_fence_start (s_read_lease (self), self->fence_ns, hs_mono_ns ()));
    self->fence_timer = hs_loop_timer (loop, HS_NEVER, s_on_fence, self);
    s_fence_arm (self);
    if (self->fence_ns > 0)
        log_info ("fencing: at-most-one pods are killed after %lld ms without the control plane",
                  (long long)(self->fence_ns / MS));
    r = hs_loop_signal (loop, SIGHUP, s_on_signal, self);
    if (r == 0) r = hs_loop_signal (loop, SIGTERM, s_on_signal, self);
    if (r == 0) r = hs_loop_signal (loop, SIGINT, s_on_signal, self);
    if (r < 0) {
        log_error ("cannot handle signals: %s", strerror (-r));
        return 1;
    }
    return 0;
}

static void s_teardown (void *arg)
{
    self_t *self = arg;
    hs_loop_timer_free (&self->manifests_timer);
    hs_loop_timer_free (&self->join);
    hs_loop_timer_free (&self->heartbeat);
    hs_loop_timer_free (&self->status);
    hs_loop_timer_free (&self->usage_timer);
    hs_loop_timer_free (&self->fence_timer);
    free (self->fenced_pods);
    free (self->fence_topic);
    free (self->fence_lease);
    agent_usage_destroy (&self->usage);
    free (self->usage_topic);
    hs_loop_turn_free (&self->turn);
    agent_probe_destroy (&self->probe);
    agent_exec_destroy (&self->exec);
    agent_routes_destroy (&self->routes);
    agent_logs_destroy (&self->logs);
    agent_pods_destroy (&self->pods);
    agent_state_close (&self->state);
    hs_client_destroy (&self->client);
    agent_join_destroy (&self->joiner);
    /* A clean stop with no pods left leaves no cgroup behind: the parent goes
     * (and its first component, when we made it). Workloads still running
     * keep theirs, and so the parent (-EBUSY): the next start adopts them. */
    if (self->cg) {
        int r = hs_cg_remove_parent (self->cg);
        if (r < 0 && r != -EBUSY)
            log_warn ("cannot remove the cgroup parent %s: %s", self->cg_parent, strerror (-r));
    }
    hs_cg_destroy (&self->cg);
    free (self->node_topic);
    free (self->state_dir);
    free (self->cg_parent);
    free (self->shim);
    free (self->cni_data_dir);
    free (self->netns_dir);
    if (self->lock_fd >= 0) close (self->lock_fd);
    self->lock_fd = -1;
}

static const hs_daemon_t s_daemon = {.name = "hs-agent",
                                     .usage = s_usage,
                                     .options = s_options,
                                     .flag = s_flag,
                                     .check = s_check,
                                     .setup = s_setup,
                                     .teardown = s_teardown};

int main (int argc, char **argv)
{
    self_t self = {.lock_fd = -1,
                   .max_pods = 110,
                   .heartbeat_ns = 250 * MS,
                   .status_ns = 10000 * MS,
                   .usage_ns = 1000 * MS,
                   .fence_ns = 2000 * MS,
                   .conf = {.backoff_initial_ns = 10 * 1000 * MS,
                            .backoff_max_ns = 300 * 1000 * MS,
                            .backoff_reset_ns = 600 * 1000 * MS,
                            .log_max_bytes = 10 << 20,
                            .log_max_files = 5,
                            .pod_network = "none",
                            .cni_bin_dir = "/usr/lib/cni",
                            .netns_pool = 2,
                            .mtu = 1500}};
    hs_net_conf_default (&self.net);
    return hs_daemon_main (&s_daemon, &self, argc, argv);
}
