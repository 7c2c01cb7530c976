/*  hollow.c: hs-hollow's N hollow nodes (see hollow.h).
 *
 *  Like kubemark's hollow kubelet or kwok: the nodes are real Node objects
 *  (labels, capacity, Ready re-posted), the pods bound to them are real pods
 *  in the store, but nothing runs. A pod goes Running --start-delay-ms after
 *  it was seen bound; a pod with restartPolicy OnFailure or Never then
 *  "exits 0" after the seconds in its homeostat.io/simulate-run-seconds
 *  annotation (default 0) and goes Succeeded; a pod with a deletionTimestamp
 *  is deleted with grace 0 and its uid as precondition, as the real agent
 *  does once its containers are down.
 *
 *  It must stay cheap at thousands of nodes, so:
 *    - a node is an index: its name is --node-prefix and the number, made
 *      when needed; per node we keep one byte of flags and a slot in the
 *      write queue (5 bytes);
 *    - one watch on every pod (no pod_node filter: there are N nodes), and
 *      the pods we simulate in one hash keyed by uid; a pod that finished is
 *      forgotten (the watch's cache still holds it);
 *    - every write goes through one queue, flushed into Commands of up to
 *      SIM_BATCH writes, at most SIM_INFLIGHT Commands in flight
 *      (hs_client_send). A pod is queued once however often it changes, and
 *      has at most one write in flight: what is written is its state at
 *      flush time (so Running then Succeeded in quick succession writes only
 *      Succeeded). When the store refuses one write of a Command
 *      (failed_index), that write's pod or node is dealt with and the others,
 *      never applied, are queued again;
 *    - one ComponentHeartbeat for the process (hb.agent-sim.<instance>:
 *      under the hb.agent prefix hs-prober follows; the name is from when
 *      this was `hs-agent --simulate`), not one per node, naming every hollow node in `nodes` (so hs-prober
 *      sees them alive; split into several heartbeats of at most
 *      SIM_HB_NODES names when there are more); the Nodes' Ready re-posts
 *      are spread evenly over --status-interval-ms.
 *  Node failure, as the real agent: one subscription to the events of our
 *  Nodes (ev.node.-//<prefix>, no watch and no cache) re-posts a node's
 *  Ready=True at once when the store shows it not Ready (hs-prober found
 *  our heartbeats missing); its new lastTransitionTime is kept in a small
 *  hash of such nodes. A pod hs-prober marked Failed with reason NodeLost
 *  is dropped and deleted (grace 0, its uid as precondition), never
 *  written again.
 *  Neither Events nor logs are written for hollow pods.
 */
#include "hollow.h"
#include "hollow_ips.h"
#include "hollow_usage.h"

#include "agent_node.h"
#include "agent_rules.h"

#include "hs_log.h"
#include "hs_metric.h"
#include "hs_net.h"
#include "hs_notify.h"
#include "hs_pb.h"
#include "hs_quantity.h"
#include "hs_topic.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MS              1000000LL
#define SIM_BATCH       100         /* writes per Command */
#define SIM_INFLIGHT    64          /* Commands in flight */
#define SIM_HOLD_NS     (1000 * MS) /* pause after the store failed a Command */
#define SIM_STATUS_TICK (20 * MS)   /* re-posts are batched per tick at least this long */
#define SIM_HB_NODES    50000 /* node names per heartbeat: ~0.75 MB, far below HS_BUS_MAX_MSG */
#define SIM_IP_WAIT     (100 * MS)  /* a pod whose node's podCIDR is not known yet: retry */
#define SIM_IP_FULL     (1000 * MS) /* a pod whose node's podCIDR is full: retry */
#define SIM_USAGE_TICK  (20 * MS)   /* usage.<node>/ are published in batches this far apart */

/* A node's flags (one byte per node). */
enum {
    N_APPLIED = 1, /* the Node object exists (our apply was acked) */
    N_READY = 2,   /* its status was posted at least once */
    N_BUSY = 4,    /* queued or in flight: never twice */
};

/* What a simulated pod's containers are doing. */
enum { P_STARTING, P_RUNNING, P_SUCCEEDED };

typedef struct spod {
    struct spod *qprev, *qnext; /* the write queue */
    int64_t due_mono;           /* the timer (start or finish) while in the heap */
    int64_t started_ns;         /* realtime the containers "started"; 0: not yet */
    int64_t run_ns;             /* OnFailure/Never: how long they run; -1: for ever */
    uint32_t heap_idx;          /* UINT32_MAX: no timer */
    uint32_t node;
    uint8_t phase;     /* P_* */
    uint8_t reported;  /* the phase the store has from us (P_STARTING: nothing) */
    bool deleting;     /* it has a deletionTimestamp: delete it */
    bool host_network; /* spec.hostNetwork: its IP is the node's */
    uint32_t ip;       /* its fake pod IP (hollow_ips); 0: none yet */
    bool queued, inflight;
    bool gone;   /* forgotten while a write was in flight: the ack frees it */
    char data[]; /* uid \0 namespace \0 name \0 */
} spod_t;

typedef enum { W_NODE_REG, W_NODE_STATUS, W_POD_STATUS, W_POD_DELETE } wkind_t;

typedef struct {
    uint8_t kind;    /* wkind_t */
    uint8_t phase;   /* W_POD_STATUS: the phase written */
    uint8_t nwrites; /* writes it took in the Command */
    uint32_t node;
    spod_t *pod;
} sitem_t;

struct hollow_t;

/* One Command in flight. All are on a list so that at exit the pods they
 * hold are freed even though their acks never come. */
typedef struct sbatch {
    struct sbatch *prev, *next;
    struct hollow_t *self;
    size_t n;
    sitem_t items[];
} sbatch_t;

struct hollow_t {
    /* the configuration (hollow_conf_t) */
    uint32_t n_nodes;
    char *prefix;
    size_t prefix_len;
    char *labels;
    char *cpu, *memory, *pods_cap; /* formatted quantities */
    int64_t start_delay_ns;
    int64_t status_ns;
    int64_t heartbeat_ns;
    /* the nodes */
    uint8_t *nflags;
    uint32_t *ncidr;     /* each node's spec.podCIDR (its network address), from its events */
    uint8_t *nprefix;    /* and its prefix length; 0: not known yet */
    hollow_ips_t **nips; /* each node's pod IPs held (NULL until one is) */
    char host_ip[16];    /* the nodes' InternalIP (agent_node_status's): pods' hostIP */
    uint32_t *nq;        /* ring of node indices to write */
    uint32_t nq_head, nq_len;
    uint32_t n_ready;
    bool all_ready;
    int64_t status_base_mono; /* re-posts: node i of round r at base + r*interval + i*interval/N */
    uint64_t status_round;
    uint32_t status_next;
    zhashx_t *ready_since; /* node name -> int64_t * ns: Ready's transition after a NotReady */
    char *node_topic;      /* ev.node.-//<prefix> */
    uint64_t ready_reposts, nodelost;
    /* the pods */
    zhashx_t *pods; /* uid -> spod_t (keys are the pods' own data) */
    spod_t *pq_head, *pq_tail;
    spod_t **heap;
    uint32_t heap_n, heap_cap;
    uint64_t n_running;
    /* writes */
    sbatch_t *batches;
    int inflight;
    int64_t hold_until_mono;
    /* counters */
    uint64_t writes, commands, refused, timeouts, succeeded, deleted;
    /* usage.<node>/ (hollow_usage.h): node i of a round at base + i*interval/N */
    int64_t usage_ns;
    hollow_usage_t *usage;
    int64_t usage_base_mono;
    uint32_t usage_next;
    uint64_t usage_sent;
    /* wiring */
    char *instance;
    char host[HOST_NAME_MAX + 1];
    struct utsname uts;
    char machine_id[64];
    int64_t started_at_ns, started_mono;
    int64_t next_hb_mono;
    hs_client_t *client;
    hs_watch_t *watch;
};

/* ------------------------------------------------------------------ names */

static void s_node_name (const hollow_t *self, uint32_t i, char *buf, size_t len)
{
    snprintf (buf, len, "%s%u", self->prefix, i);
}

/* The index of one of our nodes, or -1: the prefix, then the number as we
 * print it (no sign, no leading zero), below N. */
static int64_t s_node_index (const hollow_t *self, const char *name)
{
    if (!name || strncmp (name, self->prefix, self->prefix_len) != 0) return -1;
    const char *d = name + self->prefix_len;
    if (!*d || (d[0] == '0' && d[1])) return -1;
    uint64_t v = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9') return -1;
        v = v * 10 + (uint64_t)(*d - '0');
        if (v >= self->n_nodes) return -1;
    }
    return (int64_t)v;
}

static const char *s_pod_uid (const spod_t *p)
{
    return p->data;
}

static const char *s_pod_ns (const spod_t *p)
{
    return p->data + strlen (p->data) + 1;
}

static const char *s_pod_name (const spod_t *p)
{
    const char *ns = s_pod_ns (p);
    return ns + strlen (ns) + 1;
}

/* ------------------------------------------------------------------ the timer heap */

static void s_heap_set (hollow_t *self, uint32_t i, spod_t *p)
{
    self->heap[i] = p;
    p->heap_idx = i;
}

static void s_heap_up (hollow_t *self, uint32_t i)
{
    spod_t *p = self->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (self->heap[parent]->due_mono <= p->due_mono) break;
        s_heap_set (self, i, self->heap[parent]);
        i = parent;
    }
    s_heap_set (self, i, p);
}

static void s_heap_down (hollow_t *self, uint32_t i)
{
    spod_t *p = self->heap[i];
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = l;
        if (l >= self->heap_n) break;
        if (r < self->heap_n && self->heap[r]->due_mono < self->heap[l]->due_mono) m = r;
        if (self->heap[m]->due_mono >= p->due_mono) break;
        s_heap_set (self, i, self->heap[m]);
        i = m;
    }
    s_heap_set (self, i, p);
}

static void s_timer_set (hollow_t *self, spod_t *p, int64_t due_mono)
{
    p->due_mono = due_mono;
    if (p->heap_idx != UINT32_MAX) {
        s_heap_up (self, p->heap_idx);
        s_heap_down (self, p->heap_idx);
        return;
    }
    if (self->heap_n == self->heap_cap) {
        self->heap_cap = self->heap_cap ? self->heap_cap * 2 : 64;
        self->heap = hs_realloc (self->heap, self->heap_cap * sizeof (spod_t *));
    }
    s_heap_set (self, self->heap_n++, p);
    s_heap_up (self, p->heap_idx);
}

static void s_timer_clear (hollow_t *self, spod_t *p)
{
    uint32_t i = p->heap_idx;
    if (i == UINT32_MAX) return;
    p->heap_idx = UINT32_MAX;
    spod_t *last = self->heap[--self->heap_n];
    if (i == self->heap_n) return;
    s_heap_set (self, i, last);
    s_heap_up (self, i);
    s_heap_down (self, last->heap_idx);
}

/* ------------------------------------------------------------------ the pods */

static bool s_needs_write (const spod_t *p)
{
    if (p->deleting) return true;
    return p->phase != P_STARTING && p->phase != p->reported;
}

static void s_queue_pod (hollow_t *self, spod_t *p)
{
    if (p->queued || p->inflight || p->gone || !s_needs_write (p)) return;
    p->queued = true;
    p->qnext = NULL;
    p->qprev = self->pq_tail;
    if (self->pq_tail)
        self->pq_tail->qnext = p;
    else
        self->pq_head = p;
    self->pq_tail = p;
}

static void s_unqueue_pod (hollow_t *self, spod_t *p)
{
    if (!p->queued) return;
    if (p->qprev)
        p->qprev->qnext = p->qnext;
    else
        self->pq_head = p->qnext;
    if (p->qnext)
        p->qnext->qprev = p->qprev;
    else
        self->pq_tail = p->qprev;
    p->qprev = p->qnext = NULL;
    p->queued = false;
}

/* Drops a pod from everything; frees it unless a write of it is in flight. */
static void s_pod_forget (hollow_t *self, spod_t *p)
{
    if (p->gone) return;
    if (p->phase == P_RUNNING && self->n_running) self->n_running--;
    if (p->ip) hollow_ips_put (&self->nips[p->node], p->ip);
    p->ip = 0;
    zhashx_delete (self->pods, s_pod_uid (p));
    s_timer_clear (self, p);
    s_unqueue_pod (self, p);
    if (p->inflight)
        p->gone = true;
    else
        free (p);
}

/* The containers start: Running, and for run-to-completion pods the finish
 * is due run_ns later (now, when 0: then only Succeeded is written). */
static void s_pod_start (hollow_t *self, spod_t *p, int64_t now_mono)
{
    /* Its sandbox "gets" an address first, from the node's podCIDR (kwok's
     * PodIPWith): the Node's events bring that, shortly after it
     * registered; until then the pod waits. */
    if (!p->host_network && p->ip == 0) {
        uint8_t prefix = self->nprefix[p->node];
        if (prefix == 0) {
            s_timer_set (self, p, now_mono + SIM_IP_WAIT);
            return;
        }
        hs_cidr_t cidr = {self->ncidr[p->node], prefix};
        if (hollow_ips_take (&self->nips[p->node], &cidr, &p->ip) < 0) {
            char name[256];
            s_node_name (self, p->node, name, sizeof name);
            hs_log_once (HS_LOG_WARN, "hollow:ips-full",
                         "hollow node %s: its podCIDR has no free address for pod %s/%s; it "
                         "waits (not logged again)",
                         name, s_pod_ns (p), s_pod_name (p));
            s_timer_set (self, p, now_mono + SIM_IP_FULL);
            return;
        }
    }
    p->phase = P_RUNNING;
    self->n_running++;
    p->started_ns = hs_now_ns ();
    if (p->run_ns == 0) {
        p->phase = P_SUCCEEDED;
        self->n_running--;
    } else if (p->run_ns > 0) {
        s_timer_set (self, p, now_mono + p->run_ns);
    }
    s_queue_pod (self, p);
}

static void s_pod_due (hollow_t *self, spod_t *p, int64_t now_mono)
{
    if (p->phase == P_STARTING) {
        s_pod_start (self, p, now_mono);
    } else if (p->phase == P_RUNNING) {
        p->phase = P_SUCCEEDED;
        if (self->n_running) self->n_running--;
        s_queue_pod (self, p);
    }
}

/* How long a pod "runs": -1 (for ever) under restartPolicy Always, else
 * the annotation's seconds (0 when absent or unreadable). */
static int64_t s_run_ns (const Hs__Pod *pod)
{
    const char *policy = pod->spec ? pod->spec->restart_policy : NULL;
    if (hs_empty (policy) || hs_streq (policy, "Always")) return -1;
    const Hs__ObjectMeta *m = pod->metadata;
    const char *v =
        hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, HOLLOW_RUN_ANNOTATION);
    if (!v) return 0;
    char *end = NULL;
    errno = 0;
    double s = strtod (v, &end);
    if (errno || end == v || *end || !(s >= 0 && s <= 86400.0 * 365)) {
        hs_log_once (HS_LOG_WARN, "hollow:run-seconds",
                     "pod %s/%s: %s=\"%s\" is not a number of seconds; it runs 0 s "
                     "(not logged again)",
                     m->namespace_, m->name, HOLLOW_RUN_ANNOTATION, v);
        return 0;
    }
    return (int64_t)(s * 1e9 + 0.5);
}

static spod_t *s_pod_new (hollow_t *self, const Hs__Pod *pod, uint32_t node)
{
    const Hs__ObjectMeta *m = pod->metadata;
    size_t lu = strlen (m->uid), ln = strlen (m->namespace_), lm = strlen (m->name);
    spod_t *p = hs_calloc (1, sizeof *p + lu + ln + lm + 3);
    memcpy (p->data, m->uid, lu + 1);
    memcpy (p->data + lu + 1, m->namespace_, ln + 1);
    memcpy (p->data + lu + ln + 2, m->name, lm + 1);
    p->heap_idx = UINT32_MAX;
    p->node = node;
    p->run_ns = s_run_ns (pod);
    p->host_network = pod->spec && pod->spec->host_network;
    zhashx_insert (self->pods, s_pod_uid (p), p);
    return p;
}

/* A pod bound to one of our nodes that we have not seen (new, or from
 * before this process started): one whose containers all run (we reported
 * them) is adopted as is; any other starts after the delay. */
static void s_pod_begin (hollow_t *self, spod_t *p, const Hs__Pod *pod, int64_t now_mono)
{
    const Hs__PodStatus *st = pod->status;
    bool running = st && hs_streq (st->phase, "Running") && st->n_container_statuses > 0;
    for (size_t i = 0; running && i < st->n_container_statuses; i++) {
        const Hs__ContainerState *cs = st->container_statuses[i]->state;
        running = cs && cs->running;
    }
    if (running) {
        /* its address stays its own (an older hs-hollow's 127.0.0.1 too,
         * until the pod is replaced) */
        uint32_t ip;
        if (!p->host_network && hs_ip_parse (st->pod_ip, &ip) == 0 && ip != 0) {
            p->ip = ip;
            hollow_ips_hold (&self->nips[p->node], ip);
        }
        p->phase = p->reported = P_RUNNING;
        self->n_running++;
        p->started_ns = st->start_time ? st->start_time : hs_now_ns ();
        if (p->run_ns >= 0) {
            int64_t left = p->started_ns + p->run_ns - hs_now_ns ();
            s_timer_set (self, p, now_mono + (left > 0 ? left : 0));
        }
        return;
    }
    if (self->start_delay_ns == 0)
        s_pod_start (self, p, now_mono);
    else
        s_timer_set (self, p, now_mono + self->start_delay_ns);
}

/* The watch callback: every pod of the cluster goes by; ours are those bound
 * to one of our nodes. */
static void s_on_pod (void *arg, Hs__EventType type, const Hs__Object *obj, const Hs__Object *old)
{
    (void)old;
    hollow_t *self = arg;
    const Hs__Pod *pod = obj ? obj->pod : NULL;
    if (!pod || !pod->metadata || hs_empty (pod->metadata->uid)) return;
    spod_t *p = zhashx_lookup (self->pods, pod->metadata->uid);
    if (type == HS__EVENT_TYPE__DELETED) {
        if (p) {
            self->deleted++;
            s_pod_forget (self, p);
        }
        return;
    }
    int64_t node = s_node_index (self, pod->spec ? pod->spec->node_name : NULL);
    if (node < 0) {
        if (p) s_pod_forget (self, p);
        return;
    }
    /* hs-prober gave it up with its silent node (Failed/NodeLost): drop it
     * and delete it, as a deleted pod. */
    bool lost = agent_rules_node_lost (pod);
    if (lost && !(p && p->deleting)) self->nodelost++;
    bool deleting = pod->metadata->deletion_timestamp != 0 || lost;
    if (!p) {
        /* finished (by us, or before we came): nothing to pretend */
        if (hs_pod_terminal (pod) && !deleting) return;
        p = s_pod_new (self, pod, (uint32_t)node);
        if (!deleting) s_pod_begin (self, p, pod, hs_mono_ns ());
    }
    if (deleting && !p->deleting) {
        p->deleting = true;
        s_timer_clear (self, p);
    }
    s_queue_pod (self, p);
}

/* ------------------------------------------------------------------ building writes */

static void s_cond (Hs__PodStatus *st, const Hs__PodStatus *old, const char *type, bool ok,
                    const char *reason, int64_t now)
{
    Hs__PodCondition *c = hs_pb_new (&hs__pod_condition__descriptor);
    hs_pb_set_str (&c->type, type);
    hs_pb_set_str (&c->status, ok ? "True" : "False");
    if (!ok) hs_pb_set_str (&c->reason, reason);
    c->last_transition_time = now;
    for (size_t i = 0; old && i < old->n_conditions; i++)
        if (hs_streq (old->conditions[i]->type, type) &&
            hs_streq (old->conditions[i]->status, c->status))
            c->last_transition_time = old->conditions[i]->last_transition_time;
    hs_pb_push ((void ***)&st->conditions, &st->n_conditions, c);
}

/* The status a pod of ours has in phase `phase`, as hs-agent reports it
 * (agent_pods.c): Others' conditions (PodScheduled) kept, ours rewritten. */
static Hs__Write *s_pod_status_write (hollow_t *self, const spod_t *p, const Hs__Pod *cur)
{
    bool done = p->phase == P_SUCCEEDED;
    int64_t now = hs_now_ns ();
    Hs__Object *o = hs_obj_new (HS_KIND_POD, s_pod_ns (p), s_pod_name (p));
    hs_pb_set_str (&o->pod->metadata->uid, s_pod_uid (p));
    Hs__PodStatus *st = hs_pb_new (&hs__pod_status__descriptor);
    o->pod->status = st;
    hs_pb_set_str (&st->phase, done ? "Succeeded" : "Running");
    st->start_time = p->started_ns;
    char ipbuf[16];
    const char *ip = p->host_network ? self->host_ip : p->ip ? hs_ip_format (p->ip, ipbuf) : "";
    hs_pb_set_str (&st->host_ip, self->host_ip);
    hs_pb_set_str (&st->pod_ip, ip);
    if (*ip) {
        Hs__PodIP *pi = hs_pb_new (&hs__pod_ip__descriptor);
        hs_pb_set_str (&pi->ip, ip);
        hs_pb_push ((void ***)&st->pod_ips, &st->n_pod_ips, pi);
    }
    const Hs__PodStatus *old = cur->status;
    for (size_t i = 0; old && i < old->n_conditions; i++) {
        const char *t = old->conditions[i]->type;
        if (hs_streq (t, "Initialized") || hs_streq (t, "ContainersReady") || hs_streq (t, "Ready"))
            continue;
        hs_pb_push ((void ***)&st->conditions, &st->n_conditions, hs_pb_dup (old->conditions[i]));
    }
    s_cond (st, old, "Initialized", true, NULL, now);
    s_cond (st, old, "ContainersReady", !done, "PodCompleted", now);
    s_cond (st, old, "Ready", !done, "PodCompleted", now);
    char node[256];
    s_node_name (self, p->node, node, sizeof node);
    size_t nc = cur->spec ? cur->spec->n_containers : 0;
    for (size_t i = 0; i < nc; i++) {
        const Hs__Container *spec = cur->spec->containers[i];
        Hs__ContainerStatus *cs = hs_pb_new (&hs__container_status__descriptor);
        hs_pb_set_str (&cs->name, spec->name);
        hs_pb_set_str (&cs->image, spec->image);
        cs->container_id = hs_sprintf ("sim://%s/%s/%s", node, s_pod_uid (p), hs_s (spec->name));
        cs->state = hs_pb_new (&hs__container_state__descriptor);
        if (done) {
            Hs__ContainerStateTerminated *t =
                hs_pb_new (&hs__container_state_terminated__descriptor);
            t->exit_code = 0;
            hs_pb_set_str (&t->reason, "Completed");
            t->started_at = p->started_ns;
            t->finished_at = p->started_ns + (p->run_ns > 0 ? p->run_ns : 0);
            hs_pb_set_str (&t->container_id, cs->container_id);
            cs->state->terminated = t;
        } else {
            cs->state->running = hs_pb_new (&hs__container_state_running__descriptor);
            cs->state->running->started_at = p->started_ns;
            cs->ready = cs->started = true;
        }
        hs_pb_push ((void ***)&st->container_statuses, &st->n_container_statuses, cs);
    }
    Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
    hs_pb_set_str (&w->expected_uid, s_pod_uid (p));
    return w;
}

static Hs__Write *s_node_apply_write (hollow_t *self, const char *name)
{
    Hs__Object *o = agent_node_object (name, &self->uts, self->labels);
    hs_pb_map_set ((void ***)&o->node->metadata->labels, &o->node->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "homeostat.io/hollow", "true");
    return hs_write_new (HS__OP__OP_APPLY, o);
}

/* The Node's status as agent_main.c posts it: capacity, allocatable, Ready
 * with a fresh heartbeat time, addresses, system info. */
static Hs__Write *s_node_status_write (hollow_t *self, const char *name)
{
    const int64_t *since = zhashx_lookup (self->ready_since, name);
    agent_node_info_t in = {.name = name,
                            .cpu = self->cpu,
                            .memory = self->memory,
                            .pods = self->pods_cap,
                            .ready_since_ns = since ? *since : self->started_at_ns,
                            .message = "hs-hollow is posting ready status",
                            .agent_version = "hs-hollow " HS_VERSION,
                            .machine_id = self->machine_id,
                            .uts = &self->uts};
    return hs_write_new (HS__OP__OP_UPDATE_STATUS, agent_node_status (&in));
}

/* ------------------------------------------------------------------ the write queue */

static void s_queue_node (hollow_t *self, uint32_t i)
{
    if (self->nflags[i] & N_BUSY) return;
    self->nflags[i] |= N_BUSY;
    self->nq[(self->nq_head + self->nq_len++) % self->n_nodes] = i;
}

static uint32_t s_pop_node (hollow_t *self)
{
    uint32_t i = self->nq[self->nq_head];
    self->nq_head = (self->nq_head + 1) % self->n_nodes;
    self->nq_len--;
    return i;
}

static void s_node_ready (hollow_t *self, uint32_t i)
{
    if (self->nflags[i] & N_READY) return;
    self->nflags[i] |= N_READY;
    if (++self->n_ready < self->n_nodes || self->all_ready) return;
    self->all_ready = true;
    log_info ("registered %u hollow nodes %s0 .. %s%u in %lld ms", self->n_nodes, self->prefix,
              self->prefix, self->n_nodes - 1,
              (long long)((hs_mono_ns () - self->started_mono) / MS));
    hs_notify_ready ("hollow nodes registered");
    /* Registration had thousands of writes in flight; give the heap back so
     * the resident size is what idle nodes cost. */
    malloc_trim (0);
}

/* One item's outcome. code: the store's answer to this item's writes; -1:
 * not applied (another write of the Command failed, or no answer): again. */
static void s_item_done (hollow_t *self, const sitem_t *it, int code)
{
    if (it->kind == W_NODE_REG || it->kind == W_NODE_STATUS) {
        self->nflags[it->node] &= (uint8_t)~N_BUSY;
        if (code == HS__CODE__CODE_OK) {
            self->nflags[it->node] |= N_APPLIED;
            s_node_ready (self, it->node);
            return;
        }
        if (code == HS__CODE__CODE_NOT_FOUND) self->nflags[it->node] &= (uint8_t)~N_APPLIED;
        s_queue_node (self, it->node);
        return;
    }
    spod_t *p = it->pod;
    p->inflight = false;
    if (p->gone) {
        free (p);
        return;
    }
    if (code == HS__CODE__CODE_OK) {
        if (it->kind == W_POD_DELETE) {
            s_pod_forget (self, p);
            return;
        }
        p->reported = it->phase;
        if (p->reported == P_SUCCEEDED && !p->deleting) {
            self->succeeded++;
            s_pod_forget (self, p); /* finished: nothing more to pretend */
            return;
        }
    } else if (code == HS__CODE__CODE_NOT_FOUND || code == HS__CODE__CODE_CONFLICT) {
        /* deleted, or a namesake with another uid: not ours to write */
        s_pod_forget (self, p);
        return;
    }
    s_queue_pod (self, p);
}

static void s_batch_free (hollow_t *self, sbatch_t *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        self->batches = b->next;
    if (b->next) b->next->prev = b->prev;
    free (b);
}

static void s_on_ack (void *arg, int err, const Hs__Ack *ack)
{
    sbatch_t *b = arg;
    hollow_t *self = b->self;
    self->inflight--;
    bool ok = err == 0 && ack->code == HS__CODE__CODE_OK;
    /* which item the failed write belongs to */
    size_t failed = SIZE_MAX;
    if (!ok && err == 0 && ack->failed_index >= 0) {
        size_t w = 0;
        for (size_t i = 0; i < b->n; i++) {
            w += b->items[i].nwrites;
            if ((size_t)ack->failed_index < w) {
                failed = i;
                break;
            }
        }
    }
    if (!ok) {
        if (err)
            self->timeouts++;
        else
            self->refused++;
        bool transient = err || ack->code == HS__CODE__CODE_UNAVAILABLE ||
                         ack->code == HS__CODE__CODE_INTERNAL || failed == SIZE_MAX;
        if (transient) self->hold_until_mono = hs_mono_ns () + SIM_HOLD_NS;
        if (err || (ack->code != HS__CODE__CODE_NOT_FOUND && ack->code != HS__CODE__CODE_CONFLICT &&
                    ack->code != HS__CODE__CODE_UNAVAILABLE))
            hs_log_once (HS_LOG_WARN, "hollow:write",
                         "the store did not take a batch of hollow-node writes: %s (retried; "
                         "further failures not logged)",
                         err ? strerror (-err) : hs_s (ack->message));
    }
    for (size_t i = 0; i < b->n; i++) {
        int code = ok ? HS__CODE__CODE_OK : i == failed ? (int)ack->code : -1;
        s_item_done (self, &b->items[i], code);
    }
    s_batch_free (self, b);
}

/* Sends what is queued, SIM_BATCH writes per Command, while fewer than
 * SIM_INFLIGHT Commands are in flight. */
static void s_flush (hollow_t *self)
{
    hs_call_opts_t opts = {.timeout_ms = 30000};
    Hs__Write *writes[SIM_BATCH];
    while (self->inflight < SIM_INFLIGHT && (self->nq_len || self->pq_head) &&
           hs_mono_ns () >= self->hold_until_mono) {
        sbatch_t *b = hs_calloc (1, sizeof *b + SIM_BATCH * sizeof (sitem_t));
        b->self = self;
        size_t nw = 0;
        char name[256];
        while (nw + 2 <= SIM_BATCH && self->nq_len) {
            uint32_t i = s_pop_node (self);
            s_node_name (self, i, name, sizeof name);
            sitem_t *it = &b->items[b->n++];
            it->node = i;
            if (self->nflags[i] & N_APPLIED) {
                it->kind = W_NODE_STATUS;
                it->nwrites = 1;
            } else {
                /* create and first status in one Command: the store applies
                 * the writes of a Command in order, in one transaction */
                it->kind = W_NODE_REG;
                it->nwrites = 2;
                writes[nw++] = s_node_apply_write (self, name);
            }
            writes[nw++] = s_node_status_write (self, name);
        }
        while (nw < SIM_BATCH && self->pq_head) {
            spod_t *p = self->pq_head;
            s_unqueue_pod (self, p);
            const Hs__Object *o =
                hs_watch_get (self->watch, HS_KIND_POD, s_pod_ns (p), s_pod_name (p));
            if (!o || !hs_streq (o->pod->metadata->uid, s_pod_uid (p))) {
                s_pod_forget (self, p); /* gone from the store: nothing to write */
                continue;
            }
            sitem_t *it = &b->items[b->n++];
            it->pod = p;
            it->nwrites = 1;
            p->inflight = true;
            if (p->deleting) {
                it->kind = W_POD_DELETE;
                Hs__Write *w =
                    hs_write_target (HS__OP__OP_DELETE, HS_KIND_POD, s_pod_ns (p), s_pod_name (p));
                w->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
                w->grace_period_seconds->value = 0;
                hs_pb_set_str (&w->expected_uid, s_pod_uid (p));
                writes[nw++] = w;
            } else {
                it->kind = W_POD_STATUS;
                it->phase = p->phase;
                writes[nw++] = s_pod_status_write (self, p, o->pod);
            }
        }
        if (nw == 0) {
            free (b);
            break;
        }
        int r = hs_client_send (self->client, writes, nw, &opts, s_on_ack, b);
        for (size_t i = 0; i < nw; i++) hs_pb_free (writes[i]);
        if (r < 0) {
            hs_log_once (HS_LOG_WARN, "hollow:send", "cannot send hollow-node writes: %s",
                         strerror (-r));
            for (size_t i = 0; i < b->n; i++) s_item_done (self, &b->items[i], -1);
            free (b);
            self->hold_until_mono = hs_mono_ns () + SIM_HOLD_NS;
            break;
        }
        b->next = self->batches;
        if (self->batches) self->batches->prev = b;
        self->batches = b;
        self->inflight++;
        self->commands++;
        self->writes += nw;
    }
}

/* ------------------------------------------------------------------ timers */

/* When node status_next of status_round is due. */
static int64_t s_status_due (const hollow_t *self)
{
    return self->status_base_mono + (int64_t)self->status_round * self->status_ns +
           (int64_t)((__int128)self->status_ns * self->status_next / self->n_nodes);
}

static void s_status_tick (hollow_t *self, int64_t now)
{
    while (s_status_due (self) <= now) {
        s_queue_node (self, self->status_next);
        if (++self->status_next == self->n_nodes) {
            self->status_next = 0;
            self->status_round++;
        }
    }
}

/* An event of one of our Nodes (by topic prefix, no cache): not Ready
 * while we are alive means hs-prober missed our heartbeats: post
 * Ready=True again now, with a new transition time. */
static void s_on_node (void *arg, const char *topic, const Hs__Envelope *env)
{
    (void)topic;
    hollow_t *self = arg;
    const Hs__Node *node = agent_rules_event_node (env);
    if (!node) return;
    int64_t i = s_node_index (self, node->metadata->name);
    if (i < 0) return;
    hs_cidr_t cidr;
    if (node->spec && hs_cidr_parse (node->spec->pod_cidr, &cidr) == 0) {
        if (self->nprefix[i] && (self->ncidr[i] != cidr.addr || self->nprefix[i] != cidr.prefix))
            log_warn ("hollow node %s: its podCIDR is now %s; its running pods keep their "
                      "addresses",
                      node->metadata->name, node->spec->pod_cidr);
        self->ncidr[i] = cidr.addr;
        self->nprefix[i] = (uint8_t)(cidr.prefix ? cidr.prefix : 32);
    }
    if (agent_rules_node_ready (node, NULL)) return;
    int64_t *since = zhashx_lookup (self->ready_since, node->metadata->name);
    if (!since) {
        since = hs_malloc (sizeof *since);
        zhashx_insert (self->ready_since, node->metadata->name, since);
    }
    *since = hs_now_ns ();
    self->ready_reposts++;
    log_debug ("hollow node %s: the store shows it not Ready; re-posting Ready=True",
               node->metadata->name);
    s_queue_node (self, (uint32_t)i);
}

static void s_free_item (void **item)
{
    free (*item);
    *item = NULL;
}

static void s_heartbeat (hollow_t *self)
{
    Hs__ComponentHeartbeat hb = HS__COMPONENT_HEARTBEAT__INIT;
    const char *names[] = {"pods_succeeded", "pods_deleted",  "writes",
                           "commands",       "refused",       "timeouts",
                           "ready_reposts",  "pods_nodelost", "usage_sent"};
    const uint64_t values[] = {self->succeeded,     self->deleted,  self->writes,
                               self->commands,      self->refused,  self->timeouts,
                               self->ready_reposts, self->nodelost, self->usage_sent};
    _Static_assert(HS_ARRAY_LEN (names) == HS_ARRAY_LEN (values), "a name per counter");
    Hs__Counter cs[HS_ARRAY_LEN (names)];
    Hs__Counter *cp[HS_ARRAY_LEN (names)];
    hs_heartbeat_counters (&hb, cs, cp, names, values, HS_ARRAY_LEN (names));
    /* current counts, which go down: gauges */
    const char *gnames[] = {"nodes_ready", "pods_running"};
    const double gvalues[] = {(double)self->n_ready, (double)self->n_running};
    Hs__Gauge gs[HS_ARRAY_LEN (gnames)];
    Hs__Gauge *gp[HS_ARRAY_LEN (gnames)];
    hs_metric_gauges (&hb.gauges, &hb.n_gauges, gs, gp, gnames, gvalues, HS_ARRAY_LEN (gnames));
    hb.component = (char *)"hs-hollow";
    hb.instance = self->instance;
    hb.host = self->host;
    hb.started_at_ns = self->started_at_ns;
    hb.observed_revision = hs_watch_revision (self->watch);
    hb.interval_ms = (uint32_t)(self->heartbeat_ns / MS);
    hb.owned = self->n_nodes;
    hb.total = zhashx_size (self->pods);
    hb.garbage = hs_bus_garbage (hs_client_bus (self->client));
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    _cleanup_free_ char *topic = hs_sprintf ("hb.agent-sim.%s", self->instance);
    /* The nodes we speak for, SIM_HB_NODES per heartbeat: names made now,
     * in one buffer (they are only indices the rest of the time). */
    size_t per = self->n_nodes < SIM_HB_NODES ? self->n_nodes : SIM_HB_NODES;
    size_t slot = self->prefix_len + 11; /* the number and its NUL */
    char *buf = hs_malloc (per * slot);
    char **ptrs = hs_calloc (per, sizeof *ptrs);
    for (uint32_t first = 0; first < self->n_nodes; first += (uint32_t)per) {
        size_t n = self->n_nodes - first < per ? self->n_nodes - first : per;
        for (size_t k = 0; k < n; k++) {
            ptrs[k] = buf + k * slot;
            s_node_name (self, first + (uint32_t)k, ptrs[k], slot);
        }
        hb.nodes = ptrs;
        hb.n_nodes = n;
        hs_bus_publish (hs_client_bus (self->client), topic, &env);
        hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
    }
    free (ptrs);
    free (buf);
}

/* ------------------------------------------------------------------ the object */

/* The InternalIP our Nodes' status carries (agent_node_status builds it the
 * same for every node): the pods' hostIP, and the IP of hostNetwork pods. */
static void s_find_host_ip (hollow_t *self)
{
    agent_node_info_t in = {.name = "x",
                            .cpu = "1",
                            .memory = "1",
                            .pods = "1",
                            .message = "",
                            .agent_version = "",
                            .machine_id = self->machine_id,
                            .uts = &self->uts};
    Hs__Object *o = agent_node_status (&in);
    const Hs__NodeStatus *st = o->node->status;
    for (size_t i = 0; st && i < st->n_addresses; i++)
        if (hs_streq (st->addresses[i]->type, "InternalIP")) {
            snprintf (self->host_ip, sizeof self->host_ip, "%s", st->addresses[i]->address);
            break;
        }
    hs_pb_free (o);
}

hollow_t *hollow_new (const hollow_conf_t *conf)
{
    assert (conf->n_nodes >= 1 && conf->n_nodes <= HOLLOW_MAX_NODES);
    hollow_t *self = hs_calloc (1, sizeof *self);
    self->n_nodes = conf->n_nodes;
    self->prefix = hs_strdup (conf->prefix ? conf->prefix : "hollow-");
    self->prefix_len = strlen (self->prefix);
    self->labels = conf->labels ? hs_strdup (conf->labels) : NULL;
    self->cpu = hs_quantity_fmt_cpu (conf->cpu_milli);
    self->memory = hs_quantity_fmt_bytes (conf->memory_bytes);
    self->pods_cap = hs_sprintf ("%lld", (long long)conf->max_pods);
    self->start_delay_ns = conf->start_delay_ns;
    self->status_ns = conf->status_ns;
    self->heartbeat_ns = conf->heartbeat_ns;
    self->usage_ns = conf->usage_ns;
    if (self->usage_ns > 0)
        self->usage = hollow_usage_new (self->n_nodes, (uint32_t)(self->usage_ns / MS));
    /* the instance: the prefix without its trailing separators ("hollow") */
    size_t il = self->prefix_len;
    while (il > 0 && (self->prefix[il - 1] == '-' || self->prefix[il - 1] == '.')) il--;
    self->instance = il ? hs_strndup (self->prefix, il) : hs_strdup ("sim");
    for (char *c = self->instance; *c; c++)
        if (*c == '.') *c = '-';
    self->nflags = hs_calloc (self->n_nodes, 1);
    self->ncidr = hs_calloc (self->n_nodes, sizeof (uint32_t));
    self->nprefix = hs_calloc (self->n_nodes, 1);
    self->nips = hs_calloc (self->n_nodes, sizeof (hollow_ips_t *));
    self->nq = hs_calloc (self->n_nodes, sizeof (uint32_t));
    self->pods = zhashx_new ();
    zhashx_set_key_duplicator (self->pods, NULL);
    zhashx_set_key_destructor (self->pods, NULL);
    self->ready_since = zhashx_new ();
    zhashx_set_destructor (self->ready_since, s_free_item);
    gethostname (self->host, sizeof self->host - 1);
    uname (&self->uts);
    agent_machine_id (self->machine_id, sizeof self->machine_id);
    s_find_host_ip (self);
    self->started_at_ns = hs_now_ns ();
    self->started_mono = hs_mono_ns ();
    return self;
}

void hollow_destroy (hollow_t **self_p)
{
    hollow_t *self = *self_p;
    if (!self) return;
    /* The client went first: the acks of what is in flight never come. */
    while (self->batches) {
        sbatch_t *b = self->batches;
        for (size_t i = 0; i < b->n; i++)
            if (b->items[i].pod && b->items[i].pod->gone) free (b->items[i].pod);
        s_batch_free (self, b);
    }
    for (spod_t *p = zhashx_first (self->pods); p; p = zhashx_next (self->pods)) free (p);
    zhashx_destroy (&self->pods);
    hollow_usage_destroy (&self->usage);
    free (self->heap);
    free (self->nflags);
    for (uint32_t i = 0; i < self->n_nodes; i++) hollow_ips_free (&self->nips[i]);
    free (self->nips);
    free (self->ncidr);
    free (self->nprefix);
    free (self->nq);
    free (self->cpu);
    free (self->memory);
    free (self->pods_cap);
    free (self->prefix);
    free (self->labels);
    free (self->instance);
    free (self->node_topic);
    zhashx_destroy (&self->ready_since);
    free (self);
    *self_p = NULL;
}

const char *hollow_instance (const hollow_t *self)
{
    return self->instance;
}

void hollow_start (hollow_t *self, hs_client_t *client)
{
    self->client = client;
    log_info ("simulating %u hollow nodes %s0 .. %s%u (%s CPU, %s memory, %s pods each; "
              "pods go Running after %lld ms)",
              self->n_nodes, self->prefix, self->prefix, self->n_nodes - 1, self->cpu, self->memory,
              self->pods_cap, (long long)(self->start_delay_ns / MS));
    for (uint32_t i = 0; i < self->n_nodes; i++) s_queue_node (self, i);
    hs_kind_t kinds[] = {HS_KIND_POD};
    hs_watch_opts_t wo = {.kinds = kinds, .n_kinds = 1, .fn = s_on_pod, .arg = self};
    self->watch = hs_client_watch (client, &wo);
    self->node_topic = hs_topic_event (HS_KIND_NODE, "-", "", self->prefix);
    int r = hs_client_on (client, self->node_topic, s_on_node, self);
    if (r < 0)
        log_error ("cannot subscribe to %s: %s; a Node marked not Ready waits for its next "
                   "status re-post",
                   self->node_topic, strerror (-r));
    /* The first re-post of node i is one interval plus its share after now. */
    self->status_base_mono = hs_mono_ns ();
    self->status_round = 1;
    self->next_hb_mono = hs_mono_ns ();
    self->usage_base_mono = hs_mono_ns ();
}

/* ------------------------------------------------------------------ usage */

/* A new round: every running pod's synthetic figures, copied. */
static void s_usage_round (hollow_t *self)
{
    hollow_usage_round_begin (self->usage);
    for (spod_t *p = zhashx_first (self->pods); p; p = zhashx_next (self->pods)) {
        if (p->phase != P_RUNNING || p->gone) continue;
        const Hs__Object *o = hs_watch_get (self->watch, HS_KIND_POD, s_pod_ns (p), s_pod_name (p));
        if (!o || !o->pod || !o->pod->metadata || !hs_streq (o->pod->metadata->uid, s_pod_uid (p)))
            continue;
        hollow_usage_add_pod (self->usage, p->node, o->pod, p->started_ns);
    }
    hollow_usage_round_end (self->usage);
}

/* The nodes whose turn has come in this round publish their NodeUsage:
 * node i at usage_base_mono + i * interval / N, so that the bus sees an
 * even flow rather than N messages at once. */
static void s_usage_tick (hollow_t *self, int64_t now)
{
    if (!self->usage) return;
    if (self->usage_next == 0) {
        if (now < self->usage_base_mono) return;
        s_usage_round (self);
    }
    size_t slot = self->prefix_len + 11;
    char name[slot], topic[slot + 8];
    int64_t real = hs_now_ns ();
    while (self->usage_next < self->n_nodes) {
        uint32_t i = self->usage_next;
        if (self->usage_base_mono + (int64_t)i * self->usage_ns / self->n_nodes > now) break;
        if (self->nflags[i] & N_APPLIED) { /* a node the store has */
            s_node_name (self, i, name, slot);
            snprintf (topic, sizeof topic, "usage.%s/", name);
            Hs__Envelope env = HS__ENVELOPE__INIT;
            env.body_case = HS__ENVELOPE__BODY_USAGE;
            env.usage = (Hs__NodeUsage *)hollow_usage_node (self->usage, i, name, real, now);
            if (hs_bus_publish (hs_client_bus (self->client), topic, &env) == 0) self->usage_sent++;
            hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
        }
        self->usage_next++;
    }
    if (self->usage_next == self->n_nodes) {
        self->usage_next = 0;
        self->usage_base_mono += self->usage_ns;
        /* fallen behind (a stall): the next round starts now */
        if (self->usage_base_mono < now) self->usage_base_mono = now;
    }
}

/* When the next node's NodeUsage is due (at least SIM_USAGE_TICK away). */
static int64_t s_usage_due (hollow_t *self, int64_t now)
{
    if (!self->usage) return HS_NEVER;
    int64_t at = self->usage_base_mono + (int64_t)self->usage_next * self->usage_ns / self->n_nodes;
    return at < now + SIM_USAGE_TICK ? now + SIM_USAGE_TICK : at;
}

int64_t hollow_work (hollow_t *self)
{
    int64_t now = hs_mono_ns ();
    while (self->heap_n && self->heap[0]->due_mono <= now) {
        spod_t *p = self->heap[0];
        s_timer_clear (self, p);
        s_pod_due (self, p, now);
    }
    s_status_tick (self, now);
    s_usage_tick (self, now);
    s_flush (self);
    if (now >= self->next_hb_mono) {
        s_heartbeat (self);
        self->next_hb_mono = now + self->heartbeat_ns;
    }
    /* The next of: the heartbeat, a re-post tick (batched: at least
     * SIM_STATUS_TICK apart), a pod's timer, the end of a hold when writes
     * wait for it. */
    int64_t wake = self->next_hb_mono;
    int64_t sd = s_status_due (self);
    if (sd < now + SIM_STATUS_TICK) sd = now + SIM_STATUS_TICK;
    if (sd < wake) wake = sd;
    if (self->heap_n && self->heap[0]->due_mono < wake) wake = self->heap[0]->due_mono;
    int64_t ud = s_usage_due (self, now);
    if (ud < wake) wake = ud;
    if ((self->nq_len || self->pq_head) && self->inflight < SIM_INFLIGHT &&
        self->hold_until_mono < wake)
        wake = self->hold_until_mono;
    return wake;
}
