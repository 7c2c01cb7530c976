/*  prober_main.c: hs-prober's wiring (docs/architecture.md §15): flags, the bus, the probes
 *  in flight, what is written. The decisions are in probe_sched.c (probe
 *  timing), probe_target.c (what a probe checks, the kubelet's messages),
 *  probe_net.c (a tcpSocket/httpGet check on a non-blocking socket) and
 *  nodemon.c (node health).
 *
 *  One hs_ctrl loop (component hs-prober, role prober) watching Pods and
 *  Nodes. Pods are ours by "ns/name", nodes by name (hs_ctrl_owns).
 *
 *  Pod probes. The watch callback only notes pods with probes (and those we
 *  track) as dirty; a pass brings the tracked containers up to date with
 *  them (run, running, startedAt), starts the probes that are due and says
 *  the verdicts that are due again. tcpSocket and httpGet run on
 *  non-blocking sockets the hs_ctrl loop polls (hs_ctrl_fd_add); exec goes
 *  to the pod's agent as an ExecRequest on probe.<node> and comes back as
 *  an ExecResult on probres.<client id>, or not in time: "timed out". Each
 *  result feeds probe_sched; a failure leaves an Unhealthy Event (the store
 *  merges repeats), a changed verdict is published at once as a ProbeResult
 *  on probe.<node> and again every period, and a liveness (or startup)
 *  failure leaves a Killing Event: the agent restarts the container.
 *
 *  Nodes. Every agent heartbeat (hb.agent.<node>, hb.agent-sim.<instance>
 *  with the nodes it speaks for) stamps its nodes; hb.store proves we are
 *  hearing the bus at all (deaf for a grace period: judge again from
 *  scratch). A check, when a node may have gone silent or changed,
 *  applies nodemon's decisions: Ready=Unknown, the unreachable taints, a
 *  NodeNotReady Event, pods Failed with reason NodeLost after the eviction
 *  timeout (their owners replace them), taints removed when the node is
 *  back and Ready. Every write carries the revision we saw. An at-most-one
 *  pod (hs_pod_at_most_one) is failed no sooner than fence x (1 + drift) +
 *  margin after its node's last heartbeat (nodemon_fence_at: its agent has
 *  killed it by then), with a ReplacedAfterFence Event on its owner.
 */
#include "nodemon.h"
#include "probe_net.h"
#include "probe_sched.h"
#include "probe_target.h"

#include "hs_topic.h"
#include "hs_cred.h"
#include "hs_ctrl.h"
#include "hs_log.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#define MS                1000000LL
#define COMPONENT         "hs-prober"
#define FULL_RECONCILE_NS (5000 * MS) /* every pod looked at again, ownership included */
#define EXEC_SLACK_NS     (500 * MS)  /* an ExecResult's way back over the bus */
#define MAX_INFLIGHT      512         /* probes in flight at once */
#define BUSY_RETRY_NS     (20 * MS)
#define PASS_GRID_NS      (50 * MS) /* probe passes on this grid: one per step at most */
#define CALL_TIMEOUT_MS   10000
#define NODE_CHECK_MAX_NS (1000 * MS)  /* nodes are looked at least this often */
#define NODE_FORGET_NS    (60000 * MS) /* a name heard but not a Node: forgotten */
/* A gap in hb.store this long (2 of its 200 ms beats missed) may have hidden
 * a node's heartbeats: at-most-one pods are judged afresh (fence_from). */
#define FENCE_DEAF_NS (500 * MS)
/* fence.<node>/: a node with at-most-one pods has its newest heartbeat's
 * send time echoed this often (its agent's fence contact) */
#define FENCE_ECHO_NS (250 * MS)
/* the at-most-one pods' nodes are looked up again at most this often */
#define FENCE_NODES_NS (250 * MS)
#define MAX_NODE_NAMES 200000 /* node names remembered at most */

/* ------------------------------------------------------------------ state */

typedef struct {
    char *name;
    probe_ctr_t pc;
    char *msg[PROBE_KINDS];     /* the words of the current verdict, for re-sends */
    int64_t grace[PROBE_KINDS]; /* the probe's terminationGracePeriodSeconds, -1: the pod's */
} s_ctr_t;

/* A pod of ours with probes. */
typedef struct {
    char *key, *ns, *name, *uid, *node;
    int64_t generation;
    s_ctr_t *c;
    size_t n_c;
} s_pod_t;

struct self_t;

/* A probe in flight: on a socket (net) or at an agent (request_id). */
typedef struct s_op_t {
    struct s_op_t *prev, *next;
    struct self_t *self;
    char *pod_key, *uid, *container;
    probe_kind_t kind;
    int32_t run;
    int64_t started, deadline; /* monotonic ns */
    probe_net_t *net;
    char *request_id;
    char *agent;      /* exec: "node:<node>", the only identity whose answer counts */
    Hs__Probe *probe; /* exec: for its messages */
} s_op_t;

typedef struct {
    int64_t last_heard;   /* monotonic; 0: never */
    int64_t silent_since; /* monotonic; 0: not silent (or not ours) */
    bool status_inflight, spec_inflight, announced;
    uint64_t seen_check; /* the last node check that found it in the cache */
    /* fencing: the newest hb.agent.<node> send time (the agent's clock)
     * and the last one echoed on fence.<node>/ */
    int64_t agent_sent, echoed;
    int64_t agent_started; /* its started_at_ns: a new agent (a reboot
                            * restarts the monotonic clock) starts afresh */
    bool fence_node;       /* runs at-most-one pods (s_fence_nodes) */
    bool owned;            /* hs_ctrl_owns at the last node check */
    int64_t owned_since;   /* monotonic: ours (judged) since */
} s_node_t;

typedef enum { S_ACK_STATUS, S_ACK_TAINT, S_ACK_EVICT } s_ack_kind_t;

/* An ack we wait for: freed by its callback, or by the client at exit when
 * the callback never runs (hs_call_opts_t.free_arg). */
typedef struct s_ctx_t {
    struct self_t *self;
    s_ack_kind_t kind;
    bool add; /* taint: added (or removed) */
    char *node, *ns, *name, *uid;
    /* evict of an at-most-one pod: its owner (or the pod) for the
     * ReplacedAfterFence Event, and how long its node was silent */
    char *owner_kind, *owner_name, *owner_uid;
    int64_t fence_silent_ns; /* 0: not at-most-one */
} s_ctx_t;

typedef struct self_t {
    hs_ctrl_t *ctrl;
    nodemon_conf_t nm;
    char host[256];
    zhashx_t *pods;  /* "ns/name" -> s_pod_t */
    zhashx_t *dirty; /* "ns/name" -> (void *)1: look again */
    size_t members;
    int64_t next_full;
    s_op_t *ops;
    size_t n_ops;
    zhashx_t *execs; /* request id -> s_op_t */
    uint64_t seq;
    zhashx_t *nodes;    /* node name -> s_node_t */
    zhashx_t *evicting; /* pod uid -> s_evicting_t */
    int64_t judge_from; /* monotonic: nodes are judged from here on */
    /* monotonic: at-most-one pods are judged from here on: judge_from, or
     * later, after any gap in hb.store over FENCE_DEAF_NS (we may have
     * missed a node's heartbeats, shorter than the grace or not) */
    int64_t fence_from;
    int64_t last_store_hb;
    /* fencing: nodes with at-most-one pods (s_fence_nodes), echoes */
    bool fence_nodes_dirty;
    int64_t fence_nodes_at, next_echo;
    uint64_t fence_echoes;
    int64_t pass_due;   /* monotonic: when s_pass asked to run next */
    int64_t drained_at; /* monotonic: the SUB socket last seen with nothing unread */
    bool node_dirty, full_logged;
    int64_t next_node_check;
    uint64_t checks;
    size_t nodes_owned, nodes_total;
    uint64_t probes, failures, nodes_notready, evictions, results, events;
    uint64_t fence_replaced; /* at-most-one pods replaced after the fence */
    uint64_t forged_results; /* ExecResults not stamped by the probed pod's node */
    /* probe_duration_seconds: a tcpSocket, httpGet or exec probe started ->
     * its result (success, failure or timeout) */
    hs_hist_t *probe_hist;
} self_t;

static int64_t s_min (int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* A pass looks at every probed container, so the probes' own wake-ups are
 * rounded up to a grid: those due within one step share a pass (a probe
 * starts at most PASS_GRID_NS late; periods are whole seconds). */
static int64_t s_grid (int64_t t)
{
    if (t >= INT64_MAX - PASS_GRID_NS) return t;
    return (t + PASS_GRID_NS - 1) / PASS_GRID_NS * PASS_GRID_NS;
}

static void s_ctr_free (s_ctr_t *c)
{
    free (c->name);
    for (int k = 0; k < PROBE_KINDS; k++) free (c->msg[k]);
}

static void s_pod_destroy (void **item)
{
    s_pod_t *p = *item;
    if (!p) return;
    for (size_t i = 0; i < p->n_c; i++) s_ctr_free (&p->c[i]);
    free (p->c);
    free (p->key);
    free (p->ns);
    free (p->name);
    free (p->uid);
    free (p->node);
    free (p);
    *item = NULL;
}

static void s_free_item (void **item)
{
    free (*item);
    *item = NULL;
}

/* "ns/name" into its parts (pointers into buf). */
static void s_split (char *buf, const char **ns, const char **name)
{
    char *slash = strchr (buf, '/');
    *ns = buf;
    *name = slash ? slash + 1 : buf;
    if (slash) *slash = '\0';
}

/* ------------------------------------------------------------------ bus output */

static void s_event (self_t *self, const char *kind, const char *ns, const char *name,
                     const char *uid, const char *type, const char *reason, const char *message)
{
    hs_event_send (hs_ctrl_client (self->ctrl), COMPONENT, hs_ctrl_instance (self->ctrl),
                   self->host, kind, ns, name, uid, type, reason, message);
    self->events++;
}

static void s_publish (self_t *self, const char *node, Hs__Envelope *env)
{
    _cleanup_free_ char *topic = hs_topic_to ("probe", node);
    int r = hs_bus_publish (hs_client_bus (hs_ctrl_client (self->ctrl)), topic, env);
    hs_pb_take_str (&env->sender, NULL); /* publish set a heap copy */
    if (r < 0)
        hs_log_once (HS_LOG_WARN, "prober:publish", "cannot publish on %s: %s (not logged again)",
                     topic, strerror (-r));
}

static void s_send_one (self_t *self, const s_pod_t *p, const s_ctr_t *c, const char *probe,
                        bool success, const char *msg, int64_t grace)
{
    Hs__ProbeResult r = HS__PROBE_RESULT__INIT;
    r.namespace_ = p->ns;
    r.pod = p->name;
    r.uid = p->uid;
    r.container = c->name;
    r.probe = (char *)probe;
    r.success = success;
    r.message = (char *)hs_s (msg);
    r.restart_count = c->pc.run;
    r.termination_grace_period_seconds = grace;
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_PROBE_RESULT;
    env.probe_result = &r;
    s_publish (self, p->node, &env);
    self->results++;
}

/* Says the verdict of probe k. A startup failure is said as a liveness
 * failure too: that is the word the agent restarts a container on. */
static void s_send_verdict (self_t *self, const s_pod_t *p, s_ctr_t *c, probe_kind_t k, int64_t now)
{
    bool ok = c->pc.p[k].verdict == PROBE_SUCCESS;
    s_send_one (self, p, c, probe_kind_name (k), ok, c->msg[k], c->grace[k]);
    if (k == PROBE_STARTUP && !ok) {
        _cleanup_free_ char *m = probe_msg_event ("Startup", c->msg[k]);
        s_send_one (self, p, c, "liveness", false, m, c->grace[k]);
    }
    probe_ctr_sent (&c->pc, k, now);
}

/* ------------------------------------------------------------------ probe results */

static s_ctr_t *s_find_ctr (self_t *self, const char *pod_key, const char *uid,
                            const char *container, s_pod_t **ret_pod)
{
    s_pod_t *p = zhashx_lookup (self->pods, pod_key);
    if (!p || !hs_streq (p->uid, uid)) return NULL;
    for (size_t i = 0; i < p->n_c; i++)
        if (hs_streq (p->c[i].name, container)) {
            *ret_pod = p;
            return &p->c[i];
        }
    return NULL;
}

/* One probe of run `run` ended. msg (taken) says what it saw. */
static void s_result (self_t *self, s_pod_t *p, s_ctr_t *c, probe_kind_t k, int32_t run,
                      bool success, char *msg)
{
    int64_t now = hs_mono_ns ();
    if (run != c->pc.run || !c->pc.running || c->pc.p[k].held) {
        probe_ctr_abort (&c->pc, k, run);
        free (msg);
        return;
    }
    if (!success) {
        self->failures++;
        _cleanup_free_ char *ev = probe_msg_event (probe_kind_title (k), msg);
        log_debug ("pod %s/%s container %s: %s", p->ns, p->name, c->name, ev);
        s_event (self, "pod", p->ns, p->name, p->uid, "Warning", "Unhealthy", ev);
    }
    int flags = probe_ctr_end (&c->pc, k, run, success, now);
    if (c->pc.p[k].verdict == (success ? PROBE_SUCCESS : PROBE_FAILURE)) {
        free (c->msg[k]);
        c->msg[k] = TAKE_PTR (msg);
    }
    free (msg);
    if (flags & PROBE_CHANGED) {
        log_info ("pod %s/%s container %s (run %d): %s probe %s%s%s", p->ns, p->name, c->name,
                  (int)run, probe_kind_name (k), success ? "succeeded" : "failed",
                  hs_empty (c->msg[k]) ? "" : ": ", hs_s (c->msg[k]));
        s_send_verdict (self, p, c, k, now);
    }
    if (flags & PROBE_RESTART) {
        _cleanup_free_ char *m = hs_sprintf ("Container %s failed %s probe, will be restarted",
                                             c->name, probe_kind_name (k));
        s_event (self, "pod", p->ns, p->name, p->uid, "Normal", "Killing", m);
    }
}

static void s_op_free (s_op_t *op)
{
    free (op->pod_key);
    free (op->uid);
    free (op->container);
    free (op->request_id);
    free (op->agent);
    hs_pb_free (op->probe);
    free (op);
}

/* Takes op off the books (socket closed, request forgotten); frees it. */
static void s_op_drop (self_t *self, s_op_t *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        self->ops = op->next;
    if (op->next) op->next->prev = op->prev;
    self->n_ops--;
    if (op->net) {
        hs_ctrl_fd_remove (self->ctrl, probe_net_fd (op->net));
        probe_net_destroy (&op->net);
    }
    if (op->request_id) zhashx_delete (self->execs, op->request_id);
    s_op_free (op);
}

/* op ended with this result; msg taken. */
static void s_op_finish (self_t *self, s_op_t *op, bool success, char *msg)
{
    s_pod_t *p = NULL;
    s_ctr_t *c = s_find_ctr (self, op->pod_key, op->uid, op->container, &p);
    probe_kind_t k = op->kind;
    int32_t run = op->run;
    bool was_full = self->n_ops >= MAX_INFLIGHT;
    hs_hist_since (self->probe_hist, op->started);
    s_op_drop (self, op);
    if (c) {
        s_result (self, p, c, k, run, success, msg);
        /* its next probe (due a period after it began) was left out of the
         * last pass's wake-up while it was in flight */
        hs_ctrl_wake_at (self->ctrl, s_grid (probe_ctr_next (&c->pc)));
    } else {
        free (msg);
    }
    if (was_full) hs_ctrl_kick (self->ctrl); /* probes waited for room */
}

static void s_on_fd (void *arg, hs_ctrl_t *ctrl, int fd, short revents)
{
    s_op_t *op = arg;
    bool ok = false;
    char *msg = NULL;
    if (probe_net_step (op->net, revents, &ok, &msg) == 1) {
        s_op_finish (op->self, op, ok, msg);
        return;
    }
    hs_ctrl_fd_events (ctrl, fd, probe_net_events (op->net));
}

static void s_on_exec_result (void *arg, const char *topic, const Hs__Envelope *env)
{
    self_t *self = arg;
    /* probres.<id>/ is ours alone: '/' ends the id (hs_topic.h) */
    _cleanup_free_ char *mine = hs_topic_to ("probres", hs_client_id (hs_ctrl_client (self->ctrl)));
    if (strcmp (topic, mine) != 0) return;
    if (env->body_case != HS__ENVELOPE__BODY_EXEC_RESULT) {
        hs_log_once (HS_LOG_WARN, "prober:probres", "%s sent a message of another kind on %s",
                     hs_s (env->sender), topic);
        return;
    }
    const Hs__ExecResult *r = env->exec_result;
    s_op_t *op = zhashx_lookup (self->execs, hs_s (r->request_id));
    if (!op) return; /* timed out already, or not ours */
    /* Secured, hs-bus stamps who published it: only the agent of the
     * pod's node answers (any node can read the request on probe.<node>
     * and race it with a forged result). */
    hs_client_t *client = hs_ctrl_client (self->ctrl);
    const char *peer = hs_client_peer_identity (client);
    if (hs_bus_identity (hs_client_bus (client)) && !hs_streq (peer, op->agent)) {
        self->forged_results++;
        char key[HS_CRED_MAX_IDENTITY + 32];
        snprintf (key, sizeof key, "prober:forged:%s", hs_s (peer));
        hs_log_once (HS_LOG_WARN, key,
                     "dropped an ExecResult for %s from %s, not %s (counted in forged_results, "
                     "further ones not logged)",
                     op->pod_key, peer ? peer : "(no stamp)", op->agent);
        return;
    }
    char *msg = probe_msg_exec (op->probe, r->exit_code, r->output.data, r->output.len, r->error);
    s_op_finish (self, op, r->exit_code == 0, msg);
}

/* ------------------------------------------------------------------ starting probes */

/* The pod at key is looked at again in the next pass. */
static void s_mark_dirty (self_t *self, const char *key)
{
    if (!zhashx_lookup (self->dirty, key)) zhashx_insert (self->dirty, key, (void *)1);
}

static const Hs__Probe *s_spec_probe (const Hs__Container *c, probe_kind_t k)
{
    switch (k) {
    case PROBE_STARTUP: return c->startup_probe;
    case PROBE_LIVENESS: return c->liveness_probe;
    case PROBE_READINESS: return c->readiness_probe;
    default: return NULL;
    }
}

static const Hs__Container *s_spec_container (const Hs__Pod *pod, const char *name)
{
    for (size_t i = 0; pod->spec && i < pod->spec->n_containers; i++)
        if (hs_streq (pod->spec->containers[i]->name, name)) return pod->spec->containers[i];
    return NULL;
}

static s_op_t *s_op_new (self_t *self, const s_pod_t *p, const s_ctr_t *c, probe_kind_t k)
{
    s_op_t *op = hs_calloc (1, sizeof *op);
    op->self = self;
    op->pod_key = hs_strdup (p->key);
    op->uid = hs_strdup (p->uid);
    op->container = hs_strdup (c->name);
    op->kind = k;
    op->run = c->pc.run;
    op->started = hs_mono_ns ();
    op->next = self->ops;
    if (self->ops) self->ops->prev = op;
    self->ops = op;
    self->n_ops++;
    return op;
}

static void s_start_probe (self_t *self, s_pod_t *p, s_ctr_t *c, probe_kind_t k, int64_t now)
{
    const Hs__Object *o = hs_watch_get (hs_ctrl_watch (self->ctrl), HS_KIND_POD, p->ns, p->name);
    const Hs__Container *spec = NULL;
    if (o && o->pod->metadata && hs_streq (o->pod->metadata->uid, p->uid))
        spec = s_spec_container (o->pod, c->name);
    const Hs__Probe *probe = spec ? s_spec_probe (spec, k) : NULL;
    probe_ctr_begin (&c->pc, k, now);
    if (!probe) {
        /* the pod changed under us: not due again before a period, and
         * the next pass brings what we track up to date */
        probe_ctr_abort (&c->pc, k, c->pc.run);
        s_mark_dirty (self, p->key);
        hs_ctrl_kick (self->ctrl);
        return;
    }
    self->probes++;
    int32_t run = c->pc.run;
    int64_t timeout = probe_timeout_ns (&c->pc.p[k].t);
    probe_target_t t = {0};
    char *err = NULL;
    if (probe_target_resolve (o->pod, spec, probe, &t, &err) < 0) {
        s_result (self, p, c, k, run, false, err);
        return;
    }
    if (t.handler == PROBE_H_EXEC) {
        s_op_t *op = s_op_new (self, p, c, k);
        op->probe = hs_pb_dup (probe);
        op->request_id = hs_sprintf ("%llx", (unsigned long long)++self->seq);
        op->agent = hs_sprintf ("node:%s", p->node);
        op->deadline = now + timeout + EXEC_SLACK_NS;
        zhashx_insert (self->execs, op->request_id, op);
        Hs__ExecRequest rq = HS__EXEC_REQUEST__INIT;
        rq.client_id = (char *)hs_client_id (hs_ctrl_client (self->ctrl));
        rq.request_id = op->request_id;
        rq.namespace_ = p->ns;
        rq.pod = p->name;
        rq.uid = p->uid;
        rq.container = c->name;
        rq.command = probe->exec->command;
        rq.n_command = probe->exec->n_command;
        rq.timeout_ms = (int32_t)(timeout / MS);
        Hs__Envelope env = HS__ENVELOPE__INIT;
        env.body_case = HS__ENVELOPE__BODY_EXEC_REQUEST;
        env.exec_request = &rq;
        s_publish (self, p->node, &env);
        probe_target_free (&t);
        return;
    }
    probe_net_t *net = NULL;
    if (probe_net_start (&t, &net, &err) != 0) {
        s_result (self, p, c, k, run, false, err);
        return;
    }
    s_op_t *op = s_op_new (self, p, c, k);
    op->net = net;
    op->deadline = now + timeout;
    int r = hs_ctrl_fd_add (self->ctrl, probe_net_fd (net), probe_net_events (net), s_on_fd, op);
    if (r < 0) {
        probe_net_destroy (&op->net);
        s_op_finish (self, op, false,
                     hs_sprintf ("cannot poll the probe's socket: %s", strerror (-r)));
    }
}

/* ------------------------------------------------------------------ tracking pods */

static bool s_has_probes (const Hs__Pod *pod)
{
    for (size_t i = 0; pod && pod->spec && i < pod->spec->n_containers; i++) {
        const Hs__Container *c = pod->spec->containers[i];
        if (c->liveness_probe || c->readiness_probe || c->startup_probe) return true;
    }
    return false;
}

/* Probed: bound, not being deleted, not finished, with probes. */
static bool s_probed (const Hs__Pod *pod)
{
    return pod && pod->metadata && pod->spec && !hs_empty (pod->spec->node_name) &&
           !pod->metadata->deletion_timestamp && !hs_pod_terminal (pod) && s_has_probes (pod);
}

static void s_timing (const Hs__Probe *p, probe_timing_t *t)
{
    *t = (probe_timing_t){.initial_delay_s = p->initial_delay_seconds,
                          .period_s = p->period_seconds,
                          .timeout_s = p->timeout_seconds,
                          .success_threshold = p->success_threshold,
                          .failure_threshold = p->failure_threshold};
}

static s_pod_t *s_pod_new (const Hs__Pod *pod, const char *key)
{
    s_pod_t *p = hs_calloc (1, sizeof *p);
    p->key = hs_strdup (key);
    p->ns = hs_strdup (pod->metadata->namespace_);
    p->name = hs_strdup (pod->metadata->name);
    p->uid = hs_strdup (pod->metadata->uid);
    p->node = hs_strdup (pod->spec->node_name);
    p->generation = pod->metadata->generation;
    p->c = hs_calloc (pod->spec->n_containers + 1, sizeof *p->c);
    for (size_t i = 0; i < pod->spec->n_containers; i++) {
        const Hs__Container *sc = pod->spec->containers[i];
        probe_timing_t t[PROBE_KINDS];
        const probe_timing_t *tp[PROBE_KINDS] = {NULL};
        bool any = false;
        for (int k = 0; k < PROBE_KINDS; k++) {
            const Hs__Probe *pr = s_spec_probe (sc, (probe_kind_t)k);
            if (!pr) continue;
            s_timing (pr, &t[k]);
            tp[k] = &t[k];
            any = true;
        }
        if (!any) continue;
        s_ctr_t *c = &p->c[p->n_c++];
        c->name = hs_strdup (sc->name);
        probe_ctr_init (&c->pc, tp);
        c->pc.seed = (uint32_t)random ();
        for (int k = 0; k < PROBE_KINDS; k++) {
            const Hs__Probe *pr = s_spec_probe (sc, (probe_kind_t)k);
            c->grace[k] = pr && pr->termination_grace_period_seconds
                              ? pr->termination_grace_period_seconds->value
                              : -1;
        }
    }
    return p;
}

static const Hs__ContainerStatus *s_status (const Hs__Pod *pod, const char *name)
{
    const Hs__PodStatus *st = pod->status;
    for (size_t i = 0; st && i < st->n_container_statuses; i++)
        if (hs_streq (st->container_statuses[i]->name, name)) return st->container_statuses[i];
    return NULL;
}

/* Brings what we track of the pod at key up to date with the cache. */
static void s_reconcile (self_t *self, const char *key, int64_t now)
{
    _cleanup_free_ char *buf = hs_strdup (key);
    const char *ns, *name;
    s_split (buf, &ns, &name);
    const Hs__Object *o = hs_watch_get (hs_ctrl_watch (self->ctrl), HS_KIND_POD, ns, name);
    const Hs__Pod *pod = o ? o->pod : NULL;
    s_pod_t *p = zhashx_lookup (self->pods, key);
    if (!s_probed (pod) || !hs_ctrl_owns (self->ctrl, key)) {
        if (p) zhashx_delete (self->pods, key);
        return;
    }
    if (p && (!hs_streq (p->uid, pod->metadata->uid) || !hs_streq (p->node, pod->spec->node_name) ||
              p->generation != pod->metadata->generation)) {
        zhashx_delete (self->pods, key); /* another pod, or its probes may have changed */
        p = NULL;
    }
    if (!p) {
        p = s_pod_new (pod, key);
        zhashx_insert (self->pods, key, p);
    }
    int64_t wall = hs_now_ns ();
    for (size_t i = 0; i < p->n_c; i++) {
        s_ctr_t *c = &p->c[i];
        const Hs__ContainerStatus *cs = s_status (pod, c->name);
        const Hs__ContainerStateRunning *run = cs && cs->state ? cs->state->running : NULL;
        if (probe_ctr_observe (&c->pc, run != NULL, cs ? cs->restart_count : 0,
                               run ? run->started_at : 0, now, wall))
            for (int k = 0; k < PROBE_KINDS; k++) {
                free (c->msg[k]);
                c->msg[k] = NULL;
            }
    }
}

/* Every pod with probes and every tracked one, looked at again. */
static void s_mark_all (self_t *self)
{
    const Hs__Object **pods = NULL;
    size_t n = hs_watch_list (hs_ctrl_watch (self->ctrl), HS_KIND_POD, &pods);
    for (size_t i = 0; i < n; i++) {
        const Hs__Pod *pod = pods[i]->pod;
        if (!pod->metadata || !s_has_probes (pod)) continue;
        _cleanup_free_ char *key =
            hs_sprintf ("%s/%s", hs_s (pod->metadata->namespace_), hs_s (pod->metadata->name));
        s_mark_dirty (self, key);
    }
    free (pods);
    for (s_pod_t *p = zhashx_first (self->pods); p; p = zhashx_next (self->pods))
        s_mark_dirty (self, p->key);
}

/* Has the node been silent for the grace period (as far as we can judge)? */
static bool s_node_silent (self_t *self, const char *name, int64_t now)
{
    if (!self->judge_from) return false;
    const s_node_t *n = zhashx_lookup (self->nodes, name);
    return now >= nodemon_silent_at (&self->nm, n ? n->last_heard : 0, self->judge_from);
}

/* Starts what is due, says what is due again, times out what is late.
 * Returns when this is next needed. */
static int64_t s_probe_pass (self_t *self, int64_t now)
{
    int64_t next = INT64_MAX;
    for (s_op_t *op = self->ops, *nx; op; op = nx) {
        nx = op->next;
        if (now < op->deadline) continue;
        char *msg = op->net ? probe_net_timeout_msg (op->net) : probe_msg_exec_timeout (op->probe);
        s_op_finish (self, op, false, msg);
        nx = self->ops; /* finishing may not touch others, but start over to be safe */
        now = hs_mono_ns ();
    }
    bool busy = false;
    /* Over a copy: a probe that fails to start finishes at once, and that
     * looks pods up (zhashx_lookup moves the table's cursor). */
    size_t n_pods = zhashx_size (self->pods), k_pod = 0;
    s_pod_t **pods = hs_calloc (n_pods + 1, sizeof *pods);
    for (s_pod_t *p = zhashx_first (self->pods); p && k_pod < n_pods; p = zhashx_next (self->pods))
        pods[k_pod++] = p;
    for (size_t ip = 0; ip < k_pod; ip++) {
        s_pod_t *p = pods[ip];
        /* a silent node's agent would neither run an exec nor act on a
         * verdict; its pods are the node check's business */
        if (s_node_silent (self, p->node, now)) continue;
        for (size_t i = 0; i < p->n_c; i++) {
            s_ctr_t *c = &p->c[i];
            for (int k = 0; k < PROBE_KINDS; k++) {
                if (probe_ctr_send_due (&c->pc, (probe_kind_t)k, now))
                    s_send_verdict (self, p, c, (probe_kind_t)k, now);
                if (!probe_ctr_due (&c->pc, (probe_kind_t)k, now)) continue;
                if (self->n_ops >= MAX_INFLIGHT) {
                    busy = true;
                    continue;
                }
                s_start_probe (self, p, c, (probe_kind_t)k, now);
            }
            next = s_min (next, probe_ctr_next (&c->pc));
        }
    }
    free (pods);
    for (s_op_t *op = self->ops; op; op = op->next) next = s_min (next, op->deadline);
    if (busy) next = s_min (next, now + BUSY_RETRY_NS);
    return s_grid (next);
}

/* ------------------------------------------------------------------ nodes */

static s_node_t *s_node (self_t *self, const char *name)
{
    s_node_t *n = zhashx_lookup (self->nodes, name);
    if (!n) {
        n = hs_calloc (1, sizeof *n);
        zhashx_insert (self->nodes, name, n);
    }
    return n;
}

static void s_heard (self_t *self, const char *name, int64_t now)
{
    if (hs_empty (name)) return;
    s_node_t *n = zhashx_lookup (self->nodes, name);
    /* names no Node has are forgotten after a minute; until then, a bound */
    if (!n && zhashx_size (self->nodes) >= MAX_NODE_NAMES) {
        hs_log_once (HS_LOG_WARN, "prober:names",
                     "more than %d node names heard: ignoring new ones (not logged again)",
                     MAX_NODE_NAMES);
        return;
    }
    if (!n) n = s_node (self, name);
    n->last_heard = now;
    if (n->silent_since) {
        self->node_dirty = true; /* back: untaint once it is Ready */
        if (self->ctrl) hs_ctrl_kick (self->ctrl);
    }
}

static void s_echo_one (self_t *self, const char *name, s_node_t *n);

static void s_on_agent_hb (void *arg, const char *topic, const Hs__Envelope *env)
{
    self_t *self = arg;
    if (env->body_case != HS__ENVELOPE__BODY_HEARTBEAT) return;
    const Hs__ComponentHeartbeat *hb = env->heartbeat;
    int64_t now = hs_mono_ns ();
    /* a real agent is its node (hb.agent.<node>); a simulator lists its nodes */
    if (hs_startswith (topic, "hb.agent.")) {
        s_heard (self, hb->instance, now);
        s_node_t *n = hs_empty (hb->instance) ? NULL : zhashx_lookup (self->nodes, hb->instance);
        /* the broker lets only node:<N> publish hb.agent.<N>: its own topic */
        if (n && hb->sent_mono_ns > 0 && hs_streq (topic + strlen ("hb.agent."), hb->instance)) {
            if (hb->started_at_ns != n->agent_started) {
                n->agent_started = hb->started_at_ns;
                n->agent_sent = n->echoed = 0;
            }
            if (hb->sent_mono_ns > n->agent_sent) n->agent_sent = hb->sent_mono_ns;
            s_echo_one (self, hb->instance, n);
        }
    }
    for (size_t i = 0; i < hb->n_nodes; i++) s_heard (self, hb->nodes[i], now);
}

static void s_on_store_hb (void *arg, const char *topic, const Hs__Envelope *env)
{
    self_t *self = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_STORE_HEARTBEAT) return;
    int64_t now = hs_mono_ns ();
    if (self->last_store_hb && now - self->last_store_hb > FENCE_DEAF_NS && self->judge_from) {
        log_info ("heard nothing from the store for %lld ms: the fence bound of at-most-one pods "
                  "counts from now (nodemon_fence_at)",
                  (long long)((now - self->last_store_hb) / MS));
        self->fence_from = now;
    }
    if (self->last_store_hb && now - self->last_store_hb > self->nm.grace_ns && self->judge_from) {
        /* We heard nothing for a grace period: the silence was ours, not
         * the nodes'. Hear them a full grace period before judging. */
        log_warn ("heard nothing from the store for %lld ms: judging nodes again in %lld ms",
                  (long long)((now - self->last_store_hb) / MS),
                  (long long)(self->nm.grace_ns / MS));
        self->judge_from = now;
    }
    self->last_store_hb = now;
}

static s_ctx_t *s_ctx_new (self_t *self, s_ack_kind_t kind)
{
    s_ctx_t *c = hs_calloc (1, sizeof *c);
    c->self = self;
    c->kind = kind;
    return c;
}

/* Also the calls' free_arg. */
static void s_ctx_free (void *arg)
{
    s_ctx_t *c = arg;
    free (c->node);
    free (c->ns);
    free (c->name);
    free (c->uid);
    free (c->owner_kind);
    free (c->owner_name);
    free (c->owner_uid);
    free (c);
}

/* An eviction's mark: in flight (until INT64_MAX), or done and not to be
 * repeated before the watch shows it (until a few seconds later). */
typedef struct {
    int64_t until;
} s_evicting_t;

#define EVICTED_HOLD_NS (5000 * MS)

/* ReplacedAfterFence on the at-most-one pod's owner: its node was silent
 * longer than its agent takes to fence it (nodemon_fence_at). */
static void s_fence_event (self_t *self, const s_ctx_t *c)
{
    const nodemon_conf_t *nm = &self->nm;
    _cleanup_free_ char *m = hs_sprintf (
        "Replaced after fence: pod %s/%s on node %s, silent for %.2f s >= fence %.2f s x (1 + "
        "%.3f) + margin %.2f s",
        c->ns, c->name, c->node, (double)c->fence_silent_ns / 1e9, (double)nm->fence_ns / 1e9,
        nm->max_drift, (double)nm->fence_margin_ns / 1e9);
    log_info ("%s", m);
    self->fence_replaced++;
    s_event (self, c->owner_kind, c->ns, c->owner_name, c->owner_uid, "Normal",
             "ReplacedAfterFence", m);
}

/* The write's answer. Neither way does it call for a check at once: the
 * watch's event of the change does (a check before it would write again
 * from the old revision), and a refused write is tried again at the next
 * check (a second at most). */
static void s_on_ack (void *arg, int err, const Hs__Ack *ack)
{
    s_ctx_t *c = arg;
    self_t *self = c->self;
    bool ok = err == 0 && ack && ack->code == HS__CODE__CODE_OK;
    const char *why = err ? strerror (-err) : ack ? hs_s (ack->message) : "";
    s_node_t *n = c->node ? zhashx_lookup (self->nodes, c->node) : NULL;
    switch (c->kind) {
    case S_ACK_STATUS:
        if (n) n->status_inflight = false;
        if (!ok) {
            log_debug ("node %s: Ready=Unknown not written: %s", c->node, why);
            break;
        }
        log_debug ("node %s: Ready=Unknown (NodeStatusUnknown)", c->node);
        if (n && !n->announced) {
            n->announced = true;
            _cleanup_free_ char *m = hs_sprintf ("Node %s status is now: NodeNotReady", c->node);
            s_event (self, "node", "", c->node, c->uid, "Normal", "NodeNotReady", m);
        }
        break;
    case S_ACK_TAINT:
        if (n) n->spec_inflight = false;
        if (ok)
            log_debug ("node %s: %s taint %s (NoExecute, NoSchedule)", c->node,
                       c->add ? "added" : "removed", NODEMON_TAINT_UNREACHABLE);
        else
            log_debug ("node %s: taints not written: %s", c->node, why);
        break;
    case S_ACK_EVICT: {
        s_evicting_t *e = zhashx_lookup (self->evicting, c->uid);
        if (!ok) {
            zhashx_delete (self->evicting, c->uid);
            log_debug ("pod %s/%s: not evicted: %s", c->ns, c->name, why);
            break;
        }
        if (e) e->until = hs_mono_ns () + EVICTED_HOLD_NS;
        self->evictions++;
        log_info ("pod %s/%s: node %s is unresponsive: marked Failed (NodeLost)", c->ns, c->name,
                  c->node);
        _cleanup_free_ char *m = hs_sprintf ("Node %s is unresponsive: marking pod %s/%s Failed "
                                             "(NodeLost) for its owner to replace",
                                             c->node, c->ns, c->name);
        s_event (self, "pod", c->ns, c->name, c->uid, "Warning", "Evicted", m);
        if (c->fence_silent_ns) s_fence_event (self, c);
        break;
    }
    }
    s_ctx_free (c);
}

static void s_write (self_t *self, Hs__Write *w, s_ctx_t *c)
{
    hs_call_opts_t opts = {.timeout_ms = CALL_TIMEOUT_MS, .free_arg = s_ctx_free};
    int r = hs_client_send (hs_ctrl_client (self->ctrl), &w, 1, &opts, s_on_ack, c);
    hs_pb_free (w);
    if (r < 0) {
        hs_log_once (HS_LOG_WARN, "prober:write", "cannot send a write: %s (not logged again)",
                     strerror (-r));
        /* as if refused: clears the in-flight flag, the next check retries */
        s_on_ack (c, r, NULL);
    }
}

static void s_node_write (self_t *self, const Hs__Node *node, s_node_t *n, unsigned what,
                          int64_t wall)
{
    const Hs__ObjectMeta *m = node->metadata;
    if ((what & NM_MARK) && !n->status_inflight) {
        Hs__Object *o = nodemon_unknown_status (node, wall);
        if (o) {
            Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
            w->expected_revision = m->resource_version;
            s_ctx_t *c = s_ctx_new (self, S_ACK_STATUS);
            c->node = hs_strdup (m->name);
            c->uid = hs_strdup (m->uid);
            n->status_inflight = true;
            s_write (self, w, c);
        }
    }
    if ((what & (NM_TAINT | NM_UNTAINT)) && !n->spec_inflight && !n->status_inflight) {
        bool add = (what & NM_TAINT) != 0;
        Hs__Object *o = nodemon_taints (node, add, wall);
        if (o) {
            Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE, o);
            w->expected_revision = m->resource_version;
            hs_pb_set_str (&w->expected_uid, m->uid);
            s_ctx_t *c = s_ctx_new (self, S_ACK_TAINT);
            c->node = hs_strdup (m->name);
            c->add = add;
            n->spec_inflight = true;
            s_write (self, w, c);
        }
    }
}

static void s_evict (self_t *self, const Hs__Pod *pod, int64_t wall, int64_t silent_ns)
{
    const Hs__ObjectMeta *m = pod->metadata;
    s_evicting_t *e = zhashx_lookup (self->evicting, m->uid);
    if (e && hs_mono_ns () < e->until) return;
    Hs__Write *w;
    if (m->deletion_timestamp) {
        /* being deleted: its agent will never finish that; we do */
        w = hs_write_target (HS__OP__OP_DELETE, HS_KIND_POD, m->namespace_, m->name);
        w->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
    } else {
        w = hs_write_new (HS__OP__OP_UPDATE_STATUS, nodemon_pod_lost (pod, wall));
        w->expected_revision = m->resource_version;
    }
    hs_pb_set_str (&w->expected_uid, m->uid);
    s_ctx_t *c = s_ctx_new (self, S_ACK_EVICT);
    c->node = hs_strdup (pod->spec->node_name);
    c->ns = hs_strdup (m->namespace_);
    c->name = hs_strdup (m->name);
    c->uid = hs_strdup (m->uid);
    if (hs_pod_at_most_one (pod)) {
        const Hs__OwnerReference *ref = hs_controller_ref (m);
        c->owner_kind = hs_strdup (ref ? ref->kind : "pod");
        c->owner_name = hs_strdup (ref ? ref->name : m->name);
        c->owner_uid = hs_strdup (ref ? ref->uid : m->uid);
        c->fence_silent_ns = silent_ns > 0 ? silent_ns : 1;
    }
    if (!e) {
        e = hs_calloc (1, sizeof *e);
        zhashx_insert (self->evicting, m->uid, e);
    }
    e->until = INT64_MAX;
    s_write (self, w, c);
}

/* ------------------------------------------------------------------ fence contact */

/* Which nodes run at-most-one pods (bound, not finished): those whose
 * heartbeats we confirm. Looked up again after a pod changed, at most every
 * FENCE_NODES_NS. */
static void s_fence_nodes (self_t *self, int64_t now)
{
    if (!self->fence_nodes_dirty || now < self->fence_nodes_at + FENCE_NODES_NS) return;
    self->fence_nodes_dirty = false;
    self->fence_nodes_at = now;
    for (s_node_t *n = zhashx_first (self->nodes); n; n = zhashx_next (self->nodes))
        n->fence_node = false;
    const Hs__Object **pods = NULL;
    size_t np = hs_watch_list (hs_ctrl_watch (self->ctrl), HS_KIND_POD, &pods);
    for (size_t i = 0; i < np; i++) {
        const Hs__Pod *pod = pods[i]->pod;
        if (!pod->spec || hs_empty (pod->spec->node_name) || !hs_pod_at_most_one (pod)) continue;
        const char *phase = pod->status ? pod->status->phase : NULL;
        if (hs_streq (phase, "Succeeded") || hs_streq (phase, "Failed")) continue;
        s_node (self, pod->spec->node_name)->fence_node = true;
    }
    free (pods);
}

/* fence.<node>/: for a node we judge, the send time of the newest
 * heartbeat we heard from its agent (its fence contact, agent_fence.h), so
 * its agent's last contact is never later than our last receipt from it,
 * whatever brokers either of us uses. Every node whose own agent
 * heartbeats (hb.agent.<node>: hs-hollow's simulated nodes do not fence
 * and are never echoed), not only those our pod cache says run at-most-one
 * pods: sent from the heartbeat itself (s_on_agent_hb), from bus join on,
 * before our snapshot or first pass, so a prober restart shorter than the
 * agents' fence time fences nothing. One small message per heartbeat. */
static void s_echo_one (self_t *self, const char *name, s_node_t *n)
{
    if (!self->ctrl || n->agent_sent <= n->echoed) return;
    if (!hs_ctrl_owns (self->ctrl, name)) return; /* its judge confirms it */
    Hs__ComponentHeartbeat hb = HS__COMPONENT_HEARTBEAT__INIT;
    hb.component = COMPONENT;
    hb.instance = (char *)name;
    hb.host = self->host;
    hb.sent_mono_ns = n->agent_sent;
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    _cleanup_free_ char *topic = hs_sprintf ("fence.%s/", name);
    if (hs_bus_publish (hs_client_bus (hs_ctrl_client (self->ctrl)), topic, &env) == 0) {
        n->echoed = n->agent_sent;
        self->fence_echoes++;
    }
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
}

/* Echoes a publish could not send (s_echo_one), every FENCE_ECHO_NS. */
static void s_echo_fences (self_t *self, int64_t now)
{
    if (now < self->next_echo) return;
    self->next_echo = now + FENCE_ECHO_NS;
    s_fence_nodes (self, now);
    for (s_node_t *n = zhashx_first (self->nodes); n; n = zhashx_next (self->nodes))
        s_echo_one (self, zhashx_cursor (self->nodes), n);
}

/* fence.<node>/ from another prober (nodemon_fence_echo_node): it heard
 * the node's agent moments ago, and that agent counts its fence from that
 * heartbeat. A node we judge is heard now, so its at-most-one pods are
 * replaced only after nobody confirmed it for the whole bound (probers
 * that disagree on who owns a node never make a second copy). */
static void s_on_fence_echo (void *arg, const char *topic, const Hs__Envelope *env)
{
    self_t *self = arg;
    if (env->body_case != HS__ENVELOPE__BODY_HEARTBEAT || !self->ctrl) return;
    const char *own = hs_bus_sender (hs_client_bus (hs_ctrl_client (self->ctrl)));
    const char *name = nodemon_fence_echo_node (topic, env->heartbeat->component,
                                                env->heartbeat->instance, env->sender, own);
    if (!name || !zhashx_lookup (self->nodes, name)) return;
    s_heard (self, name, hs_mono_ns ());
}

/* Nothing unread on our SUB socket (a heartbeat still queued would make a
 * node look silent longer than it is). */
static bool s_drained (self_t *self)
{
    hs_bus_t *bus = hs_client_bus (hs_ctrl_client (self->ctrl));
    if (hs_bus_pending (bus)) return false;
    void *sub = hs_bus_sub_socket (bus);
    int events = 0;
    size_t len = sizeof events;
    if (!sub || zmq_getsockopt (sub, ZMQ_EVENTS, &events, &len) < 0) return true;
    return !(events & ZMQ_POLLIN);
}

/* Looks at every node: who is silent, what to write; then the pods of
 * those whose time is up. */
static void s_check_nodes (self_t *self, int64_t now)
{
    self->node_dirty = false;
    self->checks++;
    if (s_drained (self)) self->drained_at = now;
    int64_t wall = hs_now_ns ();
    int64_t next = now + NODE_CHECK_MAX_NS;
    const Hs__Object **nodes = NULL;
    size_t nn = hs_watch_list (hs_ctrl_watch (self->ctrl), HS_KIND_NODE, &nodes);
    bool *silent = hs_calloc (nn + 1, sizeof *silent);
    int64_t fence_from = self->fence_from > self->judge_from ? self->fence_from : self->judge_from;
    size_t n_silent = 0;
    for (size_t i = 0; i < nn; i++) {
        const Hs__Node *node = nodes[i]->node;
        if (!node->metadata) continue;
        s_node_t *n = s_node (self, node->metadata->name);
        n->seen_check = self->checks;
        int64_t at = nodemon_silent_at (&self->nm, n->last_heard, self->judge_from);
        silent[i] = now >= at;
        if (silent[i])
            n_silent++;
        else
            next = s_min (next, at);
    }
    bool full = nodemon_full_disruption (n_silent, nn);
    if (full && !self->full_logged)
        log_warn ("all %zu node(s) are silent: marking them, evicting nothing (the prober may be "
                  "the one cut off)",
                  nn);
    self->full_logged = full;
    zhashx_t *evict = NULL; /* node name -> s_node_t */
    size_t owned = 0;
    for (size_t i = 0; i < nn; i++) {
        const Hs__Node *node = nodes[i]->node;
        if (!node->metadata) continue;
        const char *name = node->metadata->name;
        s_node_t *n = s_node (self, name);
        if (!hs_ctrl_owns (self->ctrl, name)) {
            n->silent_since = 0;
            n->announced = false;
            n->owned = false;
            continue;
        }
        if (!n->owned) {
            /* newly ours: another prober confirmed its heartbeats until
             * now, maybe ones we never heard; its at-most-one pods count
             * from here */
            n->owned = true;
            n->owned_since = now;
        }
        owned++;
        if (silent[i] && !n->silent_since) {
            n->silent_since = now;
            self->nodes_notready++;
            if (n->last_heard)
                log_warn ("node %s: no heartbeat for %lld ms: NotReady", name,
                          (long long)((now - n->last_heard) / MS));
            else
                log_warn ("node %s: no heartbeat since the prober started: NotReady", name);
        } else if (!silent[i] && n->silent_since) {
            log_info ("node %s: heartbeats are back", name);
            n->silent_since = 0;
            n->announced = false;
        }
        unsigned what = nodemon_decide (node, silent[i], full);
        s_node_write (self, node, n, what, wall);
        if (what & NM_EVICT) {
            if (!evict) evict = zhashx_new ();
            zhashx_insert (evict, name, n);
        }
    }
    self->nodes_owned = owned;
    self->nodes_total = nn;
    if (evict) {
        const Hs__Object **pods = NULL;
        size_t np = hs_watch_list (hs_ctrl_watch (self->ctrl), HS_KIND_POD, &pods);
        for (size_t i = 0; i < np; i++) {
            const Hs__Pod *pod = pods[i]->pod;
            if (!pod->metadata || !pod->spec || hs_empty (pod->spec->node_name)) continue;
            s_node_t *n = zhashx_lookup (evict, pod->spec->node_name);
            if (!n) continue;
            /* an at-most-one pod: not before its agent has fenced it */
            bool amo = hs_pod_at_most_one (pod);
            int64_t from = amo && n->owned_since > fence_from ? n->owned_since : fence_from;
            int64_t at =
                nodemon_pod_replace_at (&self->nm, pod, n->silent_since, n->last_heard, from);
            if (amo && now >= at && self->drained_at < at) {
                /* heartbeats may wait unread: read them first */
                next = s_min (next, now + 5 * MS);
                continue;
            }
            if (now >= at)
                s_evict (self, pod, wall, now - (n->last_heard > from ? n->last_heard : from));
            else if (at != INT64_MAX)
                next = s_min (next, at);
        }
        free (pods);
        zhashx_destroy (&evict);
    }
    free (silent);
    free (nodes);
    /* names heard that are no Node (any more): forgotten after a while */
    zlistx_t *gone = NULL;
    for (s_node_t *n = zhashx_first (self->nodes); n; n = zhashx_next (self->nodes))
        if (n->seen_check != self->checks && now - n->last_heard > NODE_FORGET_NS &&
            !n->fence_node) {
            if (!gone) gone = zlistx_new ();
            zlistx_add_end (gone, (void *)zhashx_cursor (self->nodes));
        }
    for (const char *k = gone ? zlistx_first (gone) : NULL; k; k = zlistx_next (gone))
        zhashx_delete (self->nodes, k);
    zlistx_destroy (&gone);
    /* evictions the watch has shown by now */
    gone = NULL;
    for (s_evicting_t *e = zhashx_first (self->evicting); e; e = zhashx_next (self->evicting))
        if (e->until < now) {
            if (!gone) gone = zlistx_new ();
            zlistx_add_end (gone, (void *)zhashx_cursor (self->evicting));
        }
    for (const char *k = gone ? zlistx_first (gone) : NULL; k; k = zlistx_next (gone))
        zhashx_delete (self->evicting, k);
    zlistx_destroy (&gone);
    self->next_node_check = next;
}

/* ------------------------------------------------------------------ hs_ctrl ops */

/* The Ready condition's lastHeartbeatTime: when the agent last posted. */
static int64_t s_posted_at (const Hs__Node *node)
{
    const Hs__NodeStatus *st = node ? node->status : NULL;
    for (size_t i = 0; st && i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, "Ready"))
            return st->conditions[i]->last_heartbeat_time;
    return 0;
}

static bool s_node_changed (const Hs__Node *a, const Hs__Node *b)
{
    if (!hs_streq (nodemon_ready (a), nodemon_ready (b))) return true;
    const Hs__NodeSpec *sa = a ? a->spec : NULL, *sb = b ? b->spec : NULL;
    if (!sa || !sb) return sa != sb;
    return !hs_pb_equal (sa, sb);
}

static void s_on_change (void *arg, Hs__EventType type, const Hs__Object *obj,
                         const Hs__Object *old)
{
    self_t *self = arg;
    switch (hs_obj_kind (obj)) {
    case HS_KIND_POD: {
        const Hs__ObjectMeta *m = obj->pod->metadata;
        if (!m) return;
        if (hs_pod_at_most_one (obj->pod) || (old && hs_pod_at_most_one (old->pod))) {
            self->fence_nodes_dirty = true;
            if (self->ctrl) hs_ctrl_kick (self->ctrl);
        }
        _cleanup_free_ char *key = hs_sprintf ("%s/%s", hs_s (m->namespace_), hs_s (m->name));
        if (s_has_probes (obj->pod) || zhashx_lookup (self->pods, key)) {
            s_mark_dirty (self, key);
            if (self->ctrl) hs_ctrl_kick (self->ctrl);
        }
        break;
    }
    case HS_KIND_NODE:
        /* An agent posting its Node's status is alive as much as one that
         * heartbeats (a restarted agent registers before its first
         * heartbeat); our own writes keep the time it posted. */
        if (obj->node->metadata && type != HS__EVENT_TYPE__DELETED &&
            s_posted_at (obj->node) > (old ? s_posted_at (old->node) : 0))
            s_heard (self, obj->node->metadata->name, hs_mono_ns ());
        if (type != HS__EVENT_TYPE__MODIFIED || !old || s_node_changed (obj->node, old->node)) {
            self->node_dirty = true;
            if (self->ctrl) hs_ctrl_kick (self->ctrl);
        }
        break;
    default: break;
    }
}

static int s_start (void *arg, hs_ctrl_t *ctrl)
{
    self_t *self = arg;
    self->ctrl = ctrl;
    hs_client_t *client = hs_ctrl_client (ctrl);
    /* request ids unique across restarts under one instance name */
    self->seq = (uint64_t)hs_now_ns ();
    _cleanup_free_ char *res = hs_topic_to ("probres", hs_client_id (client));
    int r = hs_client_on (client, res, s_on_exec_result, self);
    if (r == 0) r = hs_client_on (client, "hb.agent", s_on_agent_hb, self); /* and hb.agent-sim. */
    if (r == 0) r = hs_client_on (client, "hb.store", s_on_store_hb, self);
    if (r == 0) r = hs_client_on (client, "fence.", s_on_fence_echo, self);
    if (r < 0) {
        log_error ("cannot subscribe: %s", strerror (-r));
        return 1;
    }
    log_info ("node grace %lld ms, eviction timeout %lld ms; at-most-one pods after fence %lld ms "
              "x (1 + %.3f) + margin %lld ms",
              (long long)(self->nm.grace_ns / MS), (long long)(self->nm.eviction_ns / MS),
              (long long)(self->nm.fence_ns / MS), self->nm.max_drift,
              (long long)(self->nm.fence_margin_ns / MS));
    return 0;
}

static int64_t s_pass (void *arg, hs_ctrl_t *ctrl, int64_t now)
{
    self_t *self = arg;
    self->ctrl = ctrl;
    if (!self->judge_from) {
        /* a fresh prober hears a full grace period before judging */
        self->judge_from = now;
        self->node_dirty = true;
    } else if (self->pass_due && now - self->pass_due > FENCE_DEAF_NS) {
        /* our own loop stalled: heartbeats may have waited unread, like a
         * gap in hb.store (s_on_store_hb) */
        log_info ("our loop ran %lld ms late: the fence bound of at-most-one pods counts from now",
                  (long long)((now - self->pass_due) / MS));
        self->fence_from = now;
    }
    size_t members = hs_ctrl_members (ctrl);
    if (members != self->members || now >= self->next_full) {
        self->members = members;
        self->next_full = now + FULL_RECONCILE_NS;
        s_mark_all (self);
    }
    for (const void *v = zhashx_first (self->dirty); v; v = zhashx_next (self->dirty))
        s_reconcile (self, zhashx_cursor (self->dirty), now);
    zhashx_purge (self->dirty);
    int64_t next = s_min (self->next_full, s_probe_pass (self, now));
    if (self->node_dirty || now >= self->next_node_check) s_check_nodes (self, hs_mono_ns ());
    /* its own rate limit, not the echoes': due now, it never waits for
     * next_echo (the pass would return a time past and spin until then) */
    s_fence_nodes (self, hs_mono_ns ());
    s_echo_fences (self, hs_mono_ns ());
    next = s_min (next, self->next_node_check);
    next = s_min (next, self->fence_nodes_dirty ? self->fence_nodes_at + FENCE_NODES_NS
                                                : self->next_echo);
    self->pass_due = next;
    return next;
}

static size_t s_counters (void *arg, const char **names, uint64_t *values, size_t max)
{
    self_t *self = arg;
    const char *n[] = {"probes", "failures",       "nodes_notready", "evictions",   "results",
                       "events", "forged_results", "fence_replaced", "fence_echoes"};
    uint64_t v[] = {self->probes,         self->failures,       self->nodes_notready,
                    self->evictions,      self->results,        self->events,
                    self->forged_results, self->fence_replaced, self->fence_echoes};
    size_t k = 0;
    for (; k < HS_ARRAY_LEN (n) && k < max; k++) {
        names[k] = n[k];
        values[k] = v[k];
    }
    return k;
}

static size_t s_gauges (void *arg, const char **names, double *values, size_t max)
{
    self_t *self = arg;
    const char *n[] = {"inflight"};
    const double v[] = {(double)self->n_ops};
    size_t k = 0;
    for (; k < HS_ARRAY_LEN (n) && k < max; k++) {
        names[k] = n[k];
        values[k] = v[k];
    }
    return k;
}

static size_t s_histograms (void *arg, hs_hist_t **hists, size_t max)
{
    self_t *self = arg;
    if (max < 1) return 0;
    hists[0] = self->probe_hist;
    return 1;
}

/* work_queue_length: the pods marked to be looked at again by a pass. */
static size_t s_queue (void *arg)
{
    self_t *self = arg;
    return zhashx_size (self->dirty);
}

static void s_share (void *arg, uint64_t *owned, uint64_t *total)
{
    self_t *self = arg;
    *owned = zhashx_size (self->pods) + self->nodes_owned;
    *total = self->nodes_total + zhashx_size (self->pods);
}

/* ------------------------------------------------------------------ main */

static void s_usage (FILE *f)
{
    fprintf (f, "usage: hs-prober [options]\n"
                "Runs pods' liveness, readiness and startup probes; marks silent nodes\n"
                "NotReady and fails their pods (docs/architecture.md §15).\n");
    hs_ctrl_usage (f);
    fprintf (f, "  --node-grace-ms MS      a node silent this long is NotReady (default 1000)\n"
                "  --eviction-timeout-ms MS  its pods are failed this long after (default 1000)\n"
                "  --fence-timeout DUR     the agents' --fence-timeout (default 2s): an\n"
                "                          at-most-one pod is replaced only after its node was\n"
                "                          silent for fence x (1 + drift) + margin\n"
                "  --fence-margin DUR      (default 1s): covers the agent's kill\n"
                "  --max-clock-drift F     clock rates differ by at most F (default 0.05)\n");
}

static int s_parse_ms (const char *flag, const char *s, int64_t *ret_ns)
{
    int64_t v;
    if (hs_ctrl_parse_ms ("hs-prober", flag, s, 86400 * 1000, &v) < 0) return -1;
    *ret_ns = v * MS;
    return 0;
}

static int s_parse_dur (const char *flag, const char *s, int64_t *ret_ns)
{
    if (hs_fence_duration (s, ret_ns) == 0) return 0;
    fprintf (stderr, "hs-prober: --%s: not a duration up to 1h (2s, 500ms): %s\n", flag, s);
    return -1;
}

/* --node-grace-ms, --eviction-timeout-ms, --fence-timeout, --fence-margin,
 * --max-clock-drift */
static int s_flag (void *arg, int ch, const char *value)
{
    nodemon_conf_t *nm = arg;
    switch (ch) {
    case 'g': return s_parse_ms ("node-grace-ms", value, &nm->grace_ns);
    case 'e': return s_parse_ms ("eviction-timeout-ms", value, &nm->eviction_ns);
    case 'f': return s_parse_dur ("fence-timeout", value, &nm->fence_ns);
    case 'm': return s_parse_dur ("fence-margin", value, &nm->fence_margin_ns);
    case 'd': {
        char *end;
        errno = 0;
        double d = strtod (value, &end);
        if (errno || end == value || *end || !(d >= 0 && d < 1)) {
            fprintf (stderr, "hs-prober: --max-clock-drift: a fraction in [0, 1): %s\n", value);
            return -1;
        }
        nm->max_drift = d;
        return 0;
    }
    default: return -1;
    }
}

int main (int argc, char **argv)
{
    hs_log_init (COMPONENT);
    hs_ctrl_opts_t o = {0};
    self_t self = {.nm = {.grace_ns = 1000 * MS,
                          .eviction_ns = 1000 * MS,
                          .fence_ns = 2000 * MS,
                          .fence_margin_ns = 1000 * MS,
                          .max_drift = 0.05}};
    static const struct option longopts[] = {
        {"node-grace-ms", required_argument, NULL, 'g'},
        {"eviction-timeout-ms", required_argument, NULL, 'e'},
        {"fence-timeout", required_argument, NULL, 'f'},
        {"fence-margin", required_argument, NULL, 'm'},
        {"max-clock-drift", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    int rc;
    if (!hs_ctrl_args (argc, argv, "hs-prober", &o, longopts, NULL, s_flag, &self.nm, s_usage, &rc))
        return rc;
    gethostname (self.host, sizeof self.host - 1);
    srandom ((unsigned)(hs_now_ns () ^ getpid ())); /* first-probe spread (probe_sched.h) */
    self.pods = zhashx_new ();
    zhashx_set_destructor (self.pods, s_pod_destroy);
    self.dirty = zhashx_new ();
    self.execs = zhashx_new ();
    self.nodes = zhashx_new ();
    zhashx_set_destructor (self.nodes, s_free_item);
    self.evicting = zhashx_new ();
    zhashx_set_destructor (self.evicting, s_free_item);
    self.probe_hist = hs_hist_new ("probe_duration_seconds", NULL, 0);
    const hs_kind_t kinds[] = {HS_KIND_NODE, HS_KIND_POD};
    hs_ctrl_ops_t ops = {.component = COMPONENT,
                         .role = "prober",
                         .kinds = kinds,
                         .n_kinds = HS_ARRAY_LEN (kinds),
                         .on_change = s_on_change,
                         .start = s_start,
                         .pass = s_pass,
                         .counters = s_counters,
                         .share = s_share,
                         .gauges = s_gauges,
                         .queue = s_queue,
                         .histograms = s_histograms,
                         .arg = &self};
    rc = hs_ctrl_run (&o, &ops);
    /* the client is gone: what was in flight is only memory now */
    while (self.ops) {
        s_op_t *op = self.ops;
        self.ops = op->next;
        probe_net_destroy (&op->net);
        s_op_free (op);
    }
    zhashx_destroy (&self.pods);
    zhashx_destroy (&self.dirty);
    zhashx_destroy (&self.execs);
    zhashx_destroy (&self.nodes);
    zhashx_destroy (&self.evicting);
    hs_hist_destroy (&self.probe_hist);
    return rc;
}
