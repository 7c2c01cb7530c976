/*  sched_main.c: hs-scheduler's wiring: flags, the bus, the event loop, the
 *  pending pods and what is written (docs/architecture.md §11). The decisions are in
 *  sched_pick.c.
 *
 *  One client, one watch on nodes and pods. Level-triggered: the watch
 *  callback only keeps the set of pending pods (unbound, not being deleted,
 *  not finished, ours by spec.schedulerName) and notes when the cluster
 *  changed in a way that may let an unschedulable pod fit. A pass (s_cycle)
 *  takes the pending pods that are due, in kube's queue order (higher
 *  spec.priority first, then creation time, then name), and for each
 *  either binds it (OP_BIND, asynchronous, many in flight, up to BIND_BATCH
 *  in one Command) or records why it fits nowhere. The cluster view is kept
 *  for the process's life and updated per event rather than built per pass:
 *  the watch callback counts each pod that holds room under its key (and
 *  takes it out when it stops), a node
 *  changed in place replaces its entry, and a node added or deleted has the
 *  node list rebuilt at the next pass. A bind sent counts its pod as
 *  "assumed" on the chosen node (so a burst does not pile on one node before
 *  the watch shows the binds) until the watch shows it bound, the bind is
 *  refused, or the pod is no longer ours.
 *
 *  Binding is the store's atomic bind and nothing else: when it refuses (the
 *  node lacks room because another scheduler was faster, the pod is already
 *  bound, gone, ...), the assumption is dropped and the pod is tried again
 *  after a backoff, with whatever the watch shows by then.
 *
 *  Unschedulable: PodScheduled=False, reason Unschedulable, with Kubernetes'
 *  message, written with the revision we saw (a Conflict just means a later
 *  try) and only when the message differs from what the pod already says;
 *  when the write succeeds, a FailedScheduling Event and one log line. A pod
 *  is retried after 100 ms, doubling to 10 s; a cluster change (a node added
 *  or changed, a bound pod deleted or finished) brings the backoff back to
 *  100 ms; every --resync-ms every pending pod is retried.
 */
#include "sched_pick.h"
#include "hs_client.h"
#include "hs_ctrl.h"
#include "hs_log.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <czmq.h>
#include <errno.h>
#include <malloc.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define MS                 1000000LL
#define DEFAULT_NAME       "default-scheduler"
#define DEFAULT_RESYNC_MS  10000
#define BACKOFF_INITIAL_MS 100
#define BACKOFF_MAX_MS     10000
#define CALL_TIMEOUT_MS    10000
#define PASS_MAX_NS        (100 * MS) /* one scheduling pass, at most */
#define BIND_BATCH         64         /* binds per Command */

/* One pending pod of ours. */
typedef struct {
    char *ns, *name, *uid;
    int32_t priority;
    int64_t created_ns;
    int64_t next_try_ns; /* monotonic; 0: now */
    int64_t last_try_ns;
    int backoff_ms; /* 0: never failed since it became pending */
    char *assumed;  /* the node we bound it to, until the watch shows it bound */
    bool bind_inflight;
    bool status_inflight;
    bool unsched; /* the cache shows PodScheduled=False: counted in n_unsched */
} s_pod_t;

struct self_t;

/* One bind of a Command of binds. */
typedef struct {
    char *key, *uid, *node;
} s_bind_t;

/* The binds of one pass, sent as one Command (BIND_BATCH at most): one
 * envelope, one ack and one request-table entry for them all, instead of
 * one each. The Command is one store transaction: if a bind is refused,
 * the ack names it (failed_index) and the others were not applied either;
 * they are tried again at once, the refused one after its backoff. */
typedef struct {
    struct self_t *self;
    Hs__Write **writes; /* until sent: the client keeps the packed Command */
    s_bind_t *items;
    size_t n;
} s_binds_t;

/* A status update's ack we wait for: freed by its callback, or by the
 * client at exit when the callback never runs (hs_call_opts_t.free_arg). */
typedef struct s_ctx_t {
    struct self_t *self;
    char *key, *uid, *message;
} s_ctx_t;

typedef struct self_t {
    hs_ctrl_t *ctrl;
    hs_client_t *client;
    hs_watch_t *watch;
    sched_cluster_t *cluster; /* the incremental view: see the banner */
    bool nodes_dirty;         /* a node added or deleted: the list again */
    uint64_t resyncs;         /* the watch's, when the node list was made */
    const char *sched_name;
    int resync_ms;
    bool announced;
    uint64_t membership; /* hs_ctrl_membership the pending set was built for */
    int64_t next_resync_ns;
    int64_t next_due_ns; /* earliest next_try of a pending pod; INT64_MAX: none */
    zhashx_t *pods;      /* "ns/name" -> s_pod_t */
    uint64_t n_pods;     /* pods in the cache */
    size_t n_unsched;    /* pending pods with unsched set: the unschedulable_pods gauge */
    uint64_t bound, bind_refused, unschedulable, cycles, events;
    s_binds_t *binds; /* this pass's binds, not sent yet */
} self_t;

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: hs-scheduler [--name SCHEDULER] [controller flags]\n"
             "  --name SCHEDULER        the spec.schedulerName served (default " DEFAULT_NAME ");\n"
             "                          instances of one name share its pods by rendezvous\n"
             "                          hashing (heartbeats on hb.scheduler.<instance>, or\n"
             "                          hb.scheduler-<name>.<instance> for other names)\n");
    hs_ctrl_usage (f);
}

/* ------------------------------------------------------------------ pods */

static void s_pod_destroy (void **item)
{
    s_pod_t *p = *item;
    if (!p) return;
    free (p->ns);
    free (p->name);
    free (p->uid);
    free (p->assumed);
    free (p);
    *item = NULL;
}

static char *s_key (const char *ns, const char *name)
{
    return hs_sprintf ("%s/%s", hs_s (ns), hs_s (name));
}

/* Unbound, not being deleted, not finished, ours by schedulerName, and
 * this instance's share by rendezvous hashing of "ns/name". */
static bool s_is_pending (const self_t *self, const Hs__Pod *pod)
{
    if (!pod || !pod->metadata || !pod->spec) return false;
    if (!hs_empty (pod->spec->node_name) || pod->metadata->deletion_timestamp) return false;
    if (hs_pod_terminal (pod)) return false;
    const char *want =
        hs_empty (pod->spec->scheduler_name) ? DEFAULT_NAME : pod->spec->scheduler_name;
    if (!hs_streq (want, self->sched_name)) return false;
    if (hs_ctrl_members (self->ctrl) <= 1) return true;
    _cleanup_free_ char *key = s_key (pod->metadata->namespace_, pod->metadata->name);
    return hs_ctrl_owns (self->ctrl, key);
}

/* Bound and not finished: it holds room on its node. */
static bool s_holds_room (const Hs__Pod *pod)
{
    return pod && pod->spec && !hs_empty (pod->spec->node_name) && !hs_pod_terminal (pod);
}

/* Notes whether the cache shows pending pod p PodScheduled=False. */
static void s_set_unsched (self_t *self, s_pod_t *p, const Hs__Pod *pod)
{
    const Hs__PodCondition *c = hs_pod_condition (pod->status, "PodScheduled");
    bool now = c && hs_streq (c->status, "False");
    if (now && !p->unsched) self->n_unsched++;
    if (!now && p->unsched) self->n_unsched--;
    p->unsched = now;
}

/* Forgets pending pod key, and what its bind in flight counts. */
static void s_drop (self_t *self, const char *key)
{
    s_pod_t *p = zhashx_lookup (self->pods, key);
    if (!p) return;
    if (p->unsched) self->n_unsched--;
    if (p->assumed) sched_cluster_unset_pod (self->cluster, key, true);
    zhashx_delete (self->pods, key);
}

static void s_due (self_t *self, s_pod_t *p, int64_t at_ns)
{
    p->next_try_ns = at_ns;
    if (at_ns < self->next_due_ns) self->next_due_ns = at_ns;
    hs_ctrl_wake_at (self->ctrl, at_ns);
}

static void s_backoff (self_t *self, s_pod_t *p, int64_t now)
{
    p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : BACKOFF_INITIAL_MS;
    if (p->backoff_ms > BACKOFF_MAX_MS) p->backoff_ms = BACKOFF_MAX_MS;
    s_due (self, p, now + p->backoff_ms * MS);
}

/* Something may now fit: pods backing off try again 100 ms after their last
 * try, and their backoff starts over. */
static void s_cluster_changed (self_t *self)
{
    for (s_pod_t *p = zhashx_first (self->pods); p; p = zhashx_next (self->pods)) {
        if (p->backoff_ms == 0) continue;
        p->backoff_ms = BACKOFF_INITIAL_MS;
        int64_t at = p->last_try_ns + BACKOFF_INITIAL_MS * MS;
        if (at < p->next_try_ns) s_due (self, p, at);
    }
}

static void s_on_pod (self_t *self, Hs__EventType type, const Hs__Pod *pod, const Hs__Pod *old)
{
    const Hs__ObjectMeta *m = pod->metadata;
    if (!m) return;
    _cleanup_free_ char *key = s_key (m->namespace_, m->name);
    s_pod_t *p = zhashx_lookup (self->pods, key);
    bool freed = false;
    if (type == HS__EVENT_TYPE__DELETED) {
        freed = s_holds_room (pod);
        s_drop (self, key);
        sched_cluster_unset_pod (self->cluster, key, false);
        if (self->n_pods) self->n_pods--;
    } else {
        if (type == HS__EVENT_TYPE__ADDED) self->n_pods++;
        freed = old && s_holds_room (old) && !s_holds_room (pod);
        if (p && !hs_streq (p->uid, m->uid)) {
            s_drop (self, key); /* deleted and created again */
            p = NULL;
        }
        if (s_is_pending (self, pod)) {
            if (!p) {
                p = hs_calloc (1, sizeof *p);
                p->ns = hs_strdup (m->namespace_);
                p->name = hs_strdup (m->name);
                p->uid = hs_strdup (m->uid);
                p->priority = pod->spec->priority;
                p->created_ns = m->creation_timestamp;
                zhashx_insert (self->pods, key, p);
                s_due (self, p, 0);
            } else if (old && old->metadata && old->metadata->generation != m->generation) {
                /* its spec changed (tolerations added): try it now */
                p->backoff_ms = 0;
                s_due (self, p, 0);
            }
            s_set_unsched (self, p, pod);
        } else if (p) {
            s_drop (self, key); /* bound (the watch shows it), deleting, finished */
        }
        /* the view: what it holds now (a bound pod replaces its assumption) */
        if (s_holds_room (pod))
            sched_cluster_set_pod (self->cluster, key, pod, NULL, false);
        else if (old && s_holds_room (old))
            sched_cluster_unset_pod (self->cluster, key, false);
    }
    if (freed) s_cluster_changed (self);
}

/* ------------------------------------------------------------------ nodes */

static bool s_msg_eq (const void *a, const void *b)
{
    if (!a || !b) return a == b;
    return hs_pb_equal (a, b);
}

static bool s_labels_eq (const Hs__ObjectMeta *a, const Hs__ObjectMeta *b)
{
    if (!a || !b) return a == b;
    if (a->n_labels != b->n_labels) return false;
    for (size_t i = 0; i < a->n_labels; i++) {
        const char *v = hs_pb_map_get ((void *const *)b->labels, b->n_labels, a->labels[i]->key);
        if (!v || !hs_streq (v, a->labels[i]->value)) return false;
    }
    return true;
}

/* Did what scheduling looks at change? (Not heartbeat times.) */
static bool s_node_changed (const Hs__Node *a, const Hs__Node *b)
{
    if (sched_node_ready (a) != sched_node_ready (b)) return true;
    if (!s_msg_eq (a->spec, b->spec) || !s_labels_eq (a->metadata, b->metadata)) return true;
    const Hs__NodeStatus *sa = a->status, *sb = b->status;
    return !s_msg_eq (sa ? sa->allocatable : NULL, sb ? sb->allocatable : NULL) ||
           !s_msg_eq (sa ? sa->capacity : NULL, sb ? sb->capacity : NULL);
}

static void s_on_change (void *arg, Hs__EventType type, const Hs__Object *obj,
                         const Hs__Object *old)
{
    self_t *self = arg;
    switch (hs_obj_kind (obj)) {
    case HS_KIND_POD: s_on_pod (self, type, obj->pod, old ? old->pod : NULL); break;
    case HS_KIND_NODE:
        /* the view borrows nodes from the cache: the new state replaces the old */
        if (type != HS__EVENT_TYPE__MODIFIED ||
            sched_cluster_update_node (self->cluster, obj->node) < 0)
            self->nodes_dirty = true;
        if (type != HS__EVENT_TYPE__MODIFIED || !old || s_node_changed (old->node, obj->node))
            s_cluster_changed (self);
        break;
    default: break;
    }
}

/* ------------------------------------------------------------------ writes */

static s_ctx_t *s_ctx_new (self_t *self, const s_pod_t *p)
{
    s_ctx_t *c = hs_calloc (1, sizeof *c);
    c->self = self;
    c->key = s_key (p->ns, p->name);
    c->uid = hs_strdup (p->uid);
    return c;
}

/* Also the calls' free_arg. */
static void s_ctx_free (void *arg)
{
    s_ctx_t *c = arg;
    free (c->key);
    free (c->uid);
    free (c->message);
    free (c);
}

/* An Event about a pod, fire and forget; repeats merge in the store. */
static void s_event (self_t *self, const char *ns, const char *name, const char *uid,
                     const char *type, const char *reason, const char *message)
{
    hs_event_send (self->client, self->sched_name, hs_ctrl_instance (self->ctrl), NULL, "pod", ns,
                   name, uid, type, reason, message);
    self->events++;
}

static void s_on_ack (void *arg, int err, const Hs__Ack *ack)
{
    s_ctx_t *c = arg;
    self_t *self = c->self;
    s_pod_t *p = zhashx_lookup (self->pods, c->key);
    if (p && !hs_streq (p->uid, c->uid)) p = NULL;
    bool ok = err == 0 && ack->code == HS__CODE__CODE_OK;
    const char *why = err ? strerror (-err) : ack->message;
    char *slash = strchr (c->key, '/');
    const char *ns = c->key, *name = slash ? slash + 1 : c->key;
    if (slash) *slash = '\0';
    if (p) {
        p->status_inflight = false;
        s_due (self, p, p->next_try_ns); /* a pass meanwhile skipped it */
    }
    if (ok) {
        self->unschedulable++;
        log_info ("pod %s/%s is unschedulable: %s", ns, name, c->message);
        s_event (self, ns, name, c->uid, "Warning", "FailedScheduling", c->message);
    } else {
        /* Conflict: the pod changed meanwhile; its next try sees it. */
        log_debug ("status of %s/%s not written: %s", ns, name, why);
    }
    s_ctx_free (c);
}

/* ------------------------------------------------------------------ binds */

/* Also the calls' free_arg. */
static void s_binds_writes_free (s_binds_t *b)
{
    for (size_t i = 0; b->writes && i < b->n; i++) hs_pb_free (b->writes[i]);
    free (b->writes);
    b->writes = NULL;
}

static void s_binds_free (void *arg)
{
    s_binds_t *b = arg;
    if (!b) return;
    for (size_t i = 0; i < b->n; i++) {
        free (b->items[i].key);
        free (b->items[i].uid);
        free (b->items[i].node);
    }
    s_binds_writes_free (b);
    free (b->items);
    free (b);
}

/* The pod of bind i, if it is still the one we bound (same uid). */
static s_pod_t *s_bind_pod (self_t *self, const s_bind_t *it)
{
    s_pod_t *p = zhashx_lookup (self->pods, it->key);
    return p && hs_streq (p->uid, it->uid) ? p : NULL;
}

/* The bind was not applied: the pod's room is no longer assumed, and it is
 * tried again after its backoff if the store refused it, else at once. */
static void s_bind_undo (self_t *self, const s_bind_t *it, bool refused, int64_t now)
{
    s_pod_t *p = s_bind_pod (self, it);
    if (!p) return;
    p->bind_inflight = false;
    if (p->assumed) sched_cluster_unset_pod (self->cluster, it->key, true);
    free (p->assumed);
    p->assumed = NULL;
    if (refused)
        s_backoff (self, p, now);
    else
        s_due (self, p, now);
}

static void s_on_binds_ack (void *arg, int err, const Hs__Ack *ack)
{
    s_binds_t *b = arg;
    self_t *self = b->self;
    int64_t now = hs_mono_ns ();
    if (err == 0 && ack->code == HS__CODE__CODE_OK) {
        Hs__Write **events = hs_calloc (b->n, sizeof (Hs__Write *));
        for (size_t i = 0; i < b->n; i++) {
            const s_bind_t *it = &b->items[i];
            s_pod_t *p = s_bind_pod (self, it);
            if (p) p->bind_inflight = false; /* assumed until the watch shows it bound */
            self->bound++;
            const char *slash = strchr (it->key, '/');
            _cleanup_free_ char *ns = hs_strndup (it->key, slash ? (size_t)(slash - it->key) : 0);
            const char *name = slash ? slash + 1 : it->key;
            log_debug ("bound %s to %s", it->key, it->node);
            _cleanup_free_ char *msg =
                hs_sprintf ("Successfully assigned %s to %s", it->key, it->node);
            events[i] = hs_event_write (self->sched_name, hs_ctrl_instance (self->ctrl), NULL,
                                        "pod", ns, name, it->uid, "Normal", "Scheduled", msg);
        }
        hs_events_send (self->client, events, b->n);
        self->events += b->n;
        for (size_t i = 0; i < b->n; i++) hs_pb_free (events[i]);
        free (events);
    } else {
        /* Nothing of the Command was applied. The write the store refused
         * (failed_index) backs off; the others go again at once. A lost
         * call (err) backs them all off. */
        const char *why = err ? strerror (-err) : ack->message;
        bool whole = err != 0 || ack->code == HS__CODE__CODE_UNAVAILABLE ||
                     ack->code == HS__CODE__CODE_INTERNAL; /* not about one write */
        size_t failed = !whole && ack->failed_index >= 0 ? (size_t)ack->failed_index : b->n;
        for (size_t i = 0; i < b->n; i++) {
            bool refused = whole || i == failed || failed >= b->n;
            if (refused) {
                self->bind_refused++;
                log_debug ("bind of %s to %s refused: %s", b->items[i].key, b->items[i].node, why);
            }
            s_bind_undo (self, &b->items[i], refused, now);
        }
    }
    s_binds_free (b);
}

/* Sends this pass's binds, if any. */
static void s_binds_flush (self_t *self)
{
    s_binds_t *b = self->binds;
    self->binds = NULL;
    if (!b) return;
    hs_call_opts_t opts = {.timeout_ms = CALL_TIMEOUT_MS, .free_arg = s_binds_free};
    int r = hs_client_send (self->client, b->writes, b->n, &opts, s_on_binds_ack, b);
    s_binds_writes_free (b);
    if (r < 0) {
        hs_log_once (HS_LOG_WARN, "sched:bind", "cannot send a bind: %s (not logged again)",
                     strerror (-r));
        int64_t now = hs_mono_ns ();
        for (size_t i = 0; i < b->n; i++) s_bind_undo (self, &b->items[i], true, now);
        s_binds_free (b);
    }
}

/* Adds the bind of p to node to this pass's Command (sent when full or at
 * the end of the pass) and assumes the pod there meanwhile. */
static void s_bind (self_t *self, s_pod_t *p, const Hs__Pod *pod, const char *node)
{
    if (!self->binds) {
        self->binds = hs_calloc (1, sizeof (s_binds_t));
        self->binds->self = self;
        self->binds->writes = hs_calloc (BIND_BATCH, sizeof (Hs__Write *));
        self->binds->items = hs_calloc (BIND_BATCH, sizeof (s_bind_t));
    }
    s_binds_t *b = self->binds;
    Hs__Write *w = hs_write_target (HS__OP__OP_BIND, HS_KIND_POD, p->ns, p->name);
    hs_pb_set_str (&w->node_name, node);
    hs_pb_set_str (&w->expected_uid, p->uid); /* not a namesake created since */
    b->writes[b->n] = w;
    b->items[b->n] = (s_bind_t){s_key (p->ns, p->name), hs_strdup (p->uid), hs_strdup (node)};
    sched_cluster_set_pod (self->cluster, b->items[b->n].key, pod, node, true);
    b->n++;
    p->bind_inflight = true;
    free (p->assumed);
    p->assumed = hs_strdup (node);
    if (b->n == BIND_BATCH) s_binds_flush (self);
}

static Hs__PodCondition *s_condition (const Hs__PodStatus *st, const char *type)
{
    for (size_t i = 0; st && i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, type)) return st->conditions[i];
    return NULL;
}

/* PodScheduled=False with the message, unless the pod says so already. */
static void s_unschedulable (self_t *self, s_pod_t *p, const Hs__Pod *pod, const char *message)
{
    const Hs__PodCondition *cur = s_condition (pod->status, "PodScheduled");
    if (cur && hs_streq (cur->status, "False") && hs_streq (cur->reason, "Unschedulable") &&
        hs_streq (cur->message, message))
        return;
    Hs__Object *o = hs_obj_new (HS_KIND_POD, p->ns, p->name);
    Hs__PodStatus *st =
        pod->status ? hs_pb_dup (pod->status) : hs_pb_new (&hs__pod_status__descriptor);
    o->pod->status = st;
    Hs__PodCondition *cond = s_condition (st, "PodScheduled");
    if (!cond) {
        cond = hs_pb_new (&hs__pod_condition__descriptor);
        hs_pb_set_str (&cond->type, "PodScheduled");
        hs_pb_push ((void ***)&st->conditions, &st->n_conditions, cond);
    }
    if (!hs_streq (cond->status, "False")) cond->last_transition_time = hs_now_ns ();
    hs_pb_set_str (&cond->status, "False");
    hs_pb_set_str (&cond->reason, "Unschedulable");
    hs_pb_set_str (&cond->message, message);
    Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
    w->expected_revision = pod->metadata->resource_version;
    hs_pb_set_str (&w->expected_uid, p->uid);
    s_ctx_t *c = s_ctx_new (self, p);
    c->message = hs_strdup (message);
    hs_call_opts_t opts = {.timeout_ms = CALL_TIMEOUT_MS, .free_arg = s_ctx_free};
    int r = hs_client_send (self->client, &w, 1, &opts, s_on_ack, c);
    hs_pb_free (w);
    if (r < 0) {
        hs_log_once (HS_LOG_WARN, "sched:status",
                     "cannot send a status update: %s (not logged "
                     "again)",
                     strerror (-r));
        s_ctx_free (c);
        return;
    }
    p->status_inflight = true;
}

/* ------------------------------------------------------------------ a pass */

static int s_pod_order (const void *a, const void *b)
{
    const s_pod_t *x = *(s_pod_t *const *)a, *y = *(s_pod_t *const *)b;
    if (x->priority != y->priority) return x->priority > y->priority ? -1 : 1;
    if (x->created_ns != y->created_ns) return x->created_ns < y->created_ns ? -1 : 1;
    int c = strcmp (x->ns, y->ns);
    return c ? c : strcmp (x->name, y->name);
}

static void s_cycle (self_t *self)
{
    int64_t now = hs_mono_ns ();
    self->next_due_ns = INT64_MAX;
    size_t n_pending = zhashx_size (self->pods), n_due = 0;
    s_pod_t **due = hs_calloc (n_pending + 1, sizeof (s_pod_t *));
    for (s_pod_t *p = zhashx_first (self->pods); p; p = zhashx_next (self->pods)) {
        if (p->bind_inflight || p->status_inflight || p->assumed) continue;
        if (p->next_try_ns > now) {
            if (p->next_try_ns < self->next_due_ns) self->next_due_ns = p->next_try_ns;
            continue;
        }
        due[n_due++] = p;
    }
    if (n_due == 0) {
        free (due);
        return;
    }
    self->cycles++;
    qsort (due, n_due, sizeof (s_pod_t *), s_pod_order);

    /* A resync replaces every cached object, the unchanged ones without an
     * event: the view's borrowed nodes go with them. */
    if (hs_watch_resyncs (self->watch) != self->resyncs) self->nodes_dirty = true;
    if (self->nodes_dirty) {
        const Hs__Object **nodes = NULL;
        size_t nn = hs_watch_list (self->watch, HS_KIND_NODE, &nodes);
        const Hs__Node **nv = hs_calloc (nn + 1, sizeof (Hs__Node *));
        for (size_t i = 0; i < nn; i++) nv[i] = nodes[i]->node;
        sched_cluster_set_nodes (self->cluster, nv, nn);
        self->nodes_dirty = false;
        self->resyncs = hs_watch_resyncs (self->watch);
        free (nv);
        free (nodes);
    }
    sched_cluster_t *cluster = self->cluster;

    for (size_t i = 0; i < n_due; i++) {
        /* A pass is bounded: past PASS_MAX_NS the rest stays due and the
         * loop first reads the acks of the binds sent so far (unread, they
         * would time out and be resent, and their pods tried again). */
        if (i % 64 == 63 && hs_mono_ns () - now > PASS_MAX_NS) {
            self->next_due_ns = now;
            break;
        }
        s_pod_t *p = due[i];
        const Hs__Object *o = hs_watch_get (self->watch, HS_KIND_POD, p->ns, p->name);
        if (!o || !s_is_pending (self, o->pod) || !hs_streq (o->pod->metadata->uid, p->uid)) {
            /* the watch callback forgets such pods; never keep one */
            _cleanup_free_ char *key = s_key (p->ns, p->name);
            s_drop (self, key);
            continue;
        }
        p->last_try_ns = now;
        const char *node = NULL;
        char *message = NULL;
        if (sched_pick (cluster, o->pod, &node, &message) == 0) {
            p->backoff_ms = 0;
            s_bind (self, p, o->pod, node);
        } else {
            s_backoff (self, p, now);
            s_unschedulable (self, p, o->pod, message);
            free (message);
        }
    }
    s_binds_flush (self);
    free (due);
}

/* ------------------------------------------------------------------ the controller */

static size_t s_counters (void *arg, const char **names, uint64_t *values, size_t max)
{
    self_t *self = arg;
    const char *n[] = {"pods_bound", "bind_refused", "unschedulable", "cycles", "events"};
    const uint64_t v[] = {self->bound, self->bind_refused, self->unschedulable, self->cycles,
                          self->events};
    size_t k = 0;
    for (; k < HS_ARRAY_LEN (n) && k < max; k++) {
        names[k] = n[k];
        values[k] = v[k];
    }
    return k;
}

/* unschedulable_pods: this instance's pending pods whose PodScheduled is
 * False now, as the cache shows them (kept up per watch event). */
static size_t s_gauges (void *arg, const char **names, double *values, size_t max)
{
    self_t *self = arg;
    if (max < 1) return 0;
    names[0] = "unschedulable_pods";
    values[0] = (double)self->n_unsched;
    return 1;
}

/* work_queue_length: this instance's pending pods (kube-scheduler's
 * pending_pods: due, backing off, or waiting for a bind's answer). */
static size_t s_queue (void *arg)
{
    self_t *self = arg;
    return zhashx_size (self->pods);
}

static void s_share (void *arg, uint64_t *owned, uint64_t *total)
{
    self_t *self = arg;
    *owned = zhashx_size (self->pods);
    *total = self->n_pods;
}

static int s_start (void *arg, hs_ctrl_t *ctrl)
{
    self_t *self = arg;
    self->ctrl = ctrl;
    self->client = hs_ctrl_client (ctrl);
    return 0;
}

/* The pending set again from the cache: what this instance owns changed. */
static void s_rebuild (self_t *self)
{
    for (s_pod_t *p = zhashx_first (self->pods); p; p = zhashx_next (self->pods))
        if (p->assumed) sched_cluster_unset_pod (self->cluster, zhashx_cursor (self->pods), true);
    zhashx_purge (self->pods);
    self->n_unsched = 0;
    self->next_due_ns = INT64_MAX;
    const Hs__Object **pods = NULL;
    size_t n = hs_watch_list (self->watch, HS_KIND_POD, &pods);
    for (size_t i = 0; i < n; i++) {
        const Hs__Pod *pod = pods[i]->pod;
        if (!s_is_pending (self, pod)) continue;
        s_pod_t *p = hs_calloc (1, sizeof *p);
        p->ns = hs_strdup (pod->metadata->namespace_);
        p->name = hs_strdup (pod->metadata->name);
        p->uid = hs_strdup (pod->metadata->uid);
        p->priority = pod->spec->priority;
        p->created_ns = pod->metadata->creation_timestamp;
        _cleanup_free_ char *key = s_key (p->ns, p->name);
        zhashx_insert (self->pods, key, p);
        s_set_unsched (self, p, pod);
        s_due (self, p, 0);
    }
    free (pods);
}

static int64_t s_pass (void *arg, hs_ctrl_t *ctrl, int64_t now)
{
    self_t *self = arg;
    self->watch = hs_ctrl_watch (ctrl);
    if (!self->announced) {
        self->announced = true;
        self->next_resync_ns = now + self->resync_ms * MS;
        log_info ("scheduling pods of schedulerName %s as %s", self->sched_name,
                  hs_bus_sender (hs_client_bus (self->client)));
    }
    if (self->membership != hs_ctrl_membership (ctrl)) {
        self->membership = hs_ctrl_membership (ctrl);
        s_rebuild (self);
        log_info ("%zu scheduler instance(s): %zu pending pods are mine", hs_ctrl_members (ctrl),
                  zhashx_size (self->pods));
    }
    if (now >= self->next_resync_ns) {
        for (s_pod_t *p = zhashx_first (self->pods); p; p = zhashx_next (self->pods))
            s_due (self, p, now);
        self->next_resync_ns = now + self->resync_ms * MS;
    }
    if (now >= self->next_due_ns) s_cycle (self);
    return self->next_due_ns < self->next_resync_ns ? self->next_due_ns : self->next_resync_ns;
}

/* ------------------------------------------------------------------ main */

/* --name NAME (the only flag of its own) */
static int s_flag (void *arg, int ch, const char *value)
{
    (void)ch;
    if (hs_empty (value) || strchr (value, '.')) {
        fprintf (stderr, "hs-scheduler: --name must be a non-empty word without '.'\n");
        return -1;
    }
    ((self_t *)arg)->sched_name = value;
    return 0;
}

int main (int argc, char **argv)
{
    /* No fastbins: each pass allocates arrays as large as the cluster, and
     * glibc consolidates every fastbin before a large allocation; with the
     * watch freeing tens of thousands of small protobuf chunks between
     * passes that was a large share of the scheduler's CPU (docs/architecture.md
     * §11). */
    mallopt (M_MXFAST, 0);
    hs_log_init ("hs-scheduler");
    hs_ctrl_opts_t co = {.resync_ms = DEFAULT_RESYNC_MS};
    self_t self = {.sched_name = DEFAULT_NAME, .next_due_ns = INT64_MAX};
    static const struct option longopts[] = {
        {"name", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    int rc;
    if (!hs_ctrl_args (argc, argv, "hs-scheduler", &co, longopts, "n:", s_flag, &self, s_usage,
                       &rc))
        return rc;
    self.resync_ms = co.resync_ms;
    /* instances of one scheduler name share its pods; other names are other schedulers */
    _cleanup_free_ char *role = hs_streq (self.sched_name, DEFAULT_NAME)
                                    ? hs_strdup ("scheduler")
                                    : hs_sprintf ("scheduler-%s", self.sched_name);
    self.pods = zhashx_new ();
    zhashx_set_destructor (self.pods, s_pod_destroy);
    self.cluster = sched_cluster_new (NULL, 0);
    const hs_kind_t kinds[] = {HS_KIND_NODE, HS_KIND_POD};
    hs_ctrl_ops_t ops = {.component = "hs-scheduler",
                         .role = role,
                         .kinds = kinds,
                         .n_kinds = HS_ARRAY_LEN (kinds),
                         .on_change = s_on_change,
                         .start = s_start,
                         .pass = s_pass,
                         .counters = s_counters,
                         .share = s_share,
                         .gauges = s_gauges,
                         .queue = s_queue,
                         .arg = &self};
    rc = hs_ctrl_run (&co, &ops);
    s_binds_free (self.binds); /* none: every pass sends its binds */
    zhashx_destroy (&self.pods);
    sched_cluster_destroy (&self.cluster);
    return rc;
}
