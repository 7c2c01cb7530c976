/*  hs_client.c: the client library (see hs_client.h).
 *
 *  One bus connection carries three things:
 *    - pending calls: Commands on cmd.<kind> (cmd.multi for several kinds,
 *      hs_topic.h), resent with the same request id until their Ack comes
 *      back on ack.<me>/. Looked up by request id in a
 *      hash map; their resend/timeout times live in a binary heap.
 *    - snapshot collectors: SnapshotRequests on cmd.snapshot, chunks back on
 *      snap.<me>/; a missing chunk or a stall makes a collector ask again.
 *    - watches: a cache of objects kept by snapshot-then-follow, with
 *      per-stream sequence tracking, gap / lost-tail / epoch detection and a
 *      diffing resync.
 *
 *  Re-entrancy. User callbacks (watch, ack and hs_client_on handlers) run with
 *  self->depth > 0. From there hs_client_call and hs_client_snapshot still
 *  work: they pump the socket in a restricted mode that only handles acks,
 *  chunks of synchronous snapshots and call timers; every other message is
 *  queued (in order) and dispatched by the next top-level pump, so no cache
 *  changes under a callback's feet and borrowed pointers stay valid.
 *  hs_client_process and hs_watch_wait_synced from a callback return -EDEADLK.
 */
#include "hs_client.h"
#include "hs_loop.h"
#include "hs_log.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define MS ((int64_t)1000000)

#define CALL_TIMEOUT_MS   10000
#define CALL_RETRY_MS     200
#define CALL_RETRY_MAX_MS 1000
#define JOIN_TIMEOUT_MS   5000
#define SNAP_STALL_MS     1000 /* no chunk for this long: ask again */
#define FENCE_RESEND_MS   100  /* subscription fence ping */
#define FENCE_GIVEUP_MS   1000 /* snapshot anyway; gap detection covers us */
#define RESYNC_GAP_MS     200  /* least time between two resync snapshots */
#define RESYNC_GAP_MAX_MS 5000 /* ... growing while resyncs follow each other */
#define HB_AHEAD_LIMIT    2    /* heartbeats a stream may be ahead of us */
#define WATCH_BUFFER_MAX  200000
#define DEFER_MAX         200000
#define DRAIN_BATCH       10000
#define RID_LEN           16
#define LEFT_EPOCHS       4 /* store epochs a watch remembers having left */
#define EPOCH_TERMS       8 /* store epochs whose raft term we remember */
/* Several brokers: no hb.store through ours for this long (subscribed):
 * move to the next broker (the store may be cut off from ours while our
 * link to it is fine). After a whole round of such moves without one, the
 * store itself is silent (an election, a restart): move less often. */
#define STORE_SILENT_MS     600
#define STORE_SILENT_MAX_MS 3000
/* A live watch with no hb.store of its own epoch for this long while other
 * ones arrive, or with none at all for WATCH_SILENT_MAX_MS, resyncs. */
#define WATCH_SILENT_MS     1500
#define WATCH_SILENT_MAX_MS 3000

/* ------------------------------------------------------------------ string map
 * Open addressing, linear probing, backward-shift deletion. Keys are owned
 * heap strings; values are opaque. */

typedef struct {
    char *key; /* NULL: empty slot */
    uint64_t hash;
    void *val;
} s_slot_t;

typedef struct {
    s_slot_t *slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
} s_map_t;

static uint64_t s_hash (const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 1099511628211ULL;
    }
    h ^= h >> 29;
    return h;
}

static s_slot_t *s_map_find (const s_map_t *m, const char *key, uint64_t h)
{
    if (!m->cap) return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        s_slot_t *s = &m->slots[i];
        if (!s->key) return NULL;
        if (s->hash == h && strcmp (s->key, key) == 0) return s;
    }
}

static void *s_map_get (const s_map_t *m, const char *key)
{
    s_slot_t *s = s_map_find (m, key, s_hash (key));
    return s ? s->val : NULL;
}

static void s_map_insert_slot (s_map_t *m, char *key, uint64_t h, void *val)
{
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->slots[i].key) i = (i + 1) & mask;
    m->slots[i] = (s_slot_t){key, h, val};
    m->n++;
}

static void s_map_grow (s_map_t *m)
{
    s_map_t bigger = {hs_calloc (m->cap ? m->cap * 2 : 16, sizeof (s_slot_t)),
                      m->cap ? m->cap * 2 : 16, 0};
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            s_map_insert_slot (&bigger, m->slots[i].key, m->slots[i].hash, m->slots[i].val);
    free (m->slots);
    *m = bigger;
}

/* Takes ownership of key. Returns the value it replaced (NULL if new). */
static void *s_map_put (s_map_t *m, char *key, void *val)
{
    uint64_t h = s_hash (key);
    s_slot_t *s = s_map_find (m, key, h);
    if (s) {
        void *old = s->val;
        s->val = val;
        free (key);
        return old;
    }
    if ((m->n + 1) * 4 > m->cap * 3) s_map_grow (m);
    s_map_insert_slot (m, key, h, val);
    return NULL;
}

/* Removes key; returns its value (NULL if absent). */
static void *s_map_del (s_map_t *m, const char *key)
{
    s_slot_t *s = s_map_find (m, key, s_hash (key));
    if (!s) return NULL;
    void *val = s->val;
    free (s->key);
    size_t mask = m->cap - 1;
    size_t i = (size_t)(s - m->slots);
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t k = m->slots[j].hash & mask; /* where slot j would like to be */
        bool movable = (i <= j) ? (k <= i || k > j) : (k <= i && k > j);
        if (movable) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = NULL;
    m->n--;
    return val;
}

static void s_map_clear (s_map_t *m, void (*free_val) (void *))
{
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        free (m->slots[i].key);
        if (free_val) free_val (m->slots[i].val);
    }
    free (m->slots);
    *m = (s_map_t){0};
}

static int s_strp_cmp (const void *a, const void *b)
{
    return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* The keys (borrowed) in order; caller frees the array. */
static const char **s_map_sorted_keys (const s_map_t *m)
{
    const char **keys = hs_malloc ((m->n ? m->n : 1) * sizeof *keys);
    size_t n = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) keys[n++] = m->slots[i].key;
    qsort (keys, n, sizeof *keys, s_strp_cmp);
    return keys;
}

static void s_free_obj (void *o)
{
    hs_pb_free (o);
}

/* ------------------------------------------------------------------ types */

typedef struct s_pending {
    char rid[RID_LEN + 1];
    char *topic;
    uint8_t *cmd; /* the packed Command, republished as is on every try */
    size_t cmd_len;
    int64_t deadline_ns, next_ns, due_ns;
    int interval_ms;
    size_t heap_idx;
    hs_ack_fn *fn;
    void *arg;
    void (*free_arg) (void *arg); /* arg's, if fn never runs (destroy) */
    bool sync, done;
    bool give_up; /* answer its Unavailable ack now (the store is not replicated) */
    int err;
    Hs__Ack *ack;
    Hs__Ack *unavailable; /* the last Unavailable answer, kept while retrying */
} s_pending_t;

typedef struct {
    s_pending_t **items;
    size_t n, cap;
} s_heap_t;

typedef struct s_snap {
    hs_watch_t *watch; /* owner, or NULL for hs_client_snapshot */
    char rid[RID_LEN + 1];
    char **kinds;
    size_t n_kinds;
    char *pod_node;
    uint32_t next_index;
    uint64_t received; /* objects received, valid or not */
    hs_db_snapshot_t acc;
    size_t cap;
    int64_t stall_ns;    /* ask again at */
    int64_t deadline_ns; /* 0: never give up */
    bool done;
    int err;
    struct s_snap *next;
} s_snap_t;

typedef struct {
    uint64_t last;
    unsigned ahead; /* consecutive heartbeats showing a later seq */
} s_stream_t;

typedef enum { W_FENCE, W_SNAPSHOT, W_RESYNC_WAIT, W_LIVE } s_wstate_t;

struct hs_watch_t {
    hs_client_t *client;
    bool kinds[HS_KIND__COUNT];
    hs_kind_t kind_list[HS_KIND__COUNT];
    size_t n_kinds;
    char *pod_node;
    char *local_store;
    hs_watch_fn *fn;
    void *arg;
    char **prefixes;
    size_t n_prefixes;

    s_wstate_t state;
    bool synced;
    char *fence_topic;
    char fence_nonce[RID_LEN + 1];
    int64_t fence_start_ns;
    int64_t due_ns; /* FENCE: resend the ping; RESYNC_WAIT: start the snapshot */
    int64_t last_resync_ns;
    int resync_gap_ms;
    s_snap_t *snap;

    s_map_t cache;   /* key -> Hs__Object * */
    s_map_t streams; /* stream -> s_stream_t * */
    const char **sorted;
    size_t n_sorted;
    bool sorted_dirty;
    uint64_t epoch;
    uint64_t left[LEFT_EPOCHS]; /* epochs (of raft term 0) this watch resynced away from */
    size_t n_left;
    int64_t own_hb_ns; /* last hb.store of its epoch (or when it loaded) */
    int64_t revision;
    uint64_t resyncs;

    Hs__WatchEvent **buf; /* events received while (re)loading */
    size_t n_buf, cap_buf;
    bool buf_overflow;
};

typedef struct {
    char *prefix;
    hs_msg_fn *fn;
    void *arg;
} s_handler_t;

typedef struct s_deferred {
    char *topic;
    Hs__Envelope *env;
    char *peer; /* hs-bus's stamp (hs_bus_peer_identity), or NULL */
    struct s_deferred *next;
} s_deferred_t;

struct hs_client_t {
    hs_bus_t *bus;
    char *ack_topic, *snap_topic, *echo_prefix;
    s_map_t pending; /* rid -> s_pending_t * */
    s_heap_t heap;
    s_snap_t *snaps;
    hs_watch_t **watches;
    size_t n_watches;
    s_handler_t *handlers;
    size_t n_handlers;
    s_deferred_t *defer_head, *defer_tail;
    size_t n_defer;
    int depth;        /* > 0 while a user callback runs */
    const char *peer; /* the stamp of the message whose handlers run (hs_client_peer_identity) */
    /* hs_client_attach: the loop's sources */
    hs_loop_t *loop;
    hs_loop_zsock_t *zsock;
    hs_loop_timer_t *timer;
    hs_loop_post_t *post;
    uint64_t last_rid; /* request ids count up per client (see s_next_rid) */
    /* Who answers commands: the epoch and sender of the last hb.store.
     * A new one (a restarted store, a new leader of the replicated store)
     * or a new SUB connection (hs_bus_links: another broker) resends every
     * unacked command at once. */
    uint64_t store_epoch, store_prev_epoch;
    char *store_sender;
    uint64_t links;
    int64_t check_due_ns; /* several brokers: when hs_bus_check runs next */
    uint64_t resends;     /* commands resent that way (hs_client_resends) */
    /* Raft terms (hb.store's term; 0 from a single store): epochs are
     * ordered by them, so a deposed leader's late words never win. */
    uint64_t max_term;
    struct {
        uint64_t epoch, term;
    } terms[EPOCH_TERMS];
    size_t n_terms;
    char *cluster_id;       /* the replicated store's (hb.store's cluster_id) the terms are of */
    int replicated;         /* the last hb.store's: 1 replicated, 0 single, -1 not heard yet */
    int64_t hb_ns;          /* the last hb.store taken (0: none yet) */
    int64_t silent_ns;      /* silence counts from max(hb_ns, this): start, last move */
    uint64_t seen_moves;    /* hs_bus_moves when silent_ns was last set */
    unsigned silent_moves;  /* moves for silence since the last hb.store */
    uint64_t silence_moves; /* hs_client_silence_moves */
};

/* Request ids are this client's counter in fixed-width hex, starting from
 * the realtime clock in ns at hs_client_new. The start matters: a client id
 * is the bus instance, which a component may fix (hs-agent --node-name, an
 * --instance flag), and the store remembers answers per client id and
 * request id for minutes, so a restarted process counting from 1 again
 * would be answered with its predecessor's replies. A process issues far
 * fewer than one request per ns, so its ids stay below its successor's
 * start. Ids that count up also keep one client's remembered answers
 * adjacent in the store's request table, so a batch dirties a few B-tree
 * pages per client instead of one random page per command. */
static void s_next_rid (hs_client_t *self, char *rid)
{
    snprintf (rid, RID_LEN + 1, "%016llx", (unsigned long long)++self->last_rid);
}

static int64_t s_min (int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Publishes env (a stack envelope whose strings we do not own) and frees the
 * sender copy hs_bus_publish put in. */
static int s_publish_stack (hs_client_t *self, const char *topic, Hs__Envelope *env)
{
    int r = hs_bus_publish (self->bus, topic, env);
    hs_pb_take_str (&env->sender, NULL);
    env->sender = NULL;
    return r;
}

/* ------------------------------------------------------------------ pending heap */

static bool s_heap_less (s_heap_t *h, size_t a, size_t b)
{
    return h->items[a]->due_ns < h->items[b]->due_ns;
}

static void s_heap_swap (s_heap_t *h, size_t a, size_t b)
{
    s_pending_t *t = h->items[a];
    h->items[a] = h->items[b];
    h->items[b] = t;
    h->items[a]->heap_idx = a;
    h->items[b]->heap_idx = b;
}

static void s_heap_fix (s_heap_t *h, size_t i)
{
    while (i > 0 && s_heap_less (h, i, (i - 1) / 2)) {
        s_heap_swap (h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && s_heap_less (h, l, m)) m = l;
        if (r < h->n && s_heap_less (h, r, m)) m = r;
        if (m == i) break;
        s_heap_swap (h, i, m);
        i = m;
    }
}

static void s_heap_push (s_heap_t *h, s_pending_t *p)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->items = hs_realloc (h->items, h->cap * sizeof *h->items);
    }
    p->heap_idx = h->n;
    h->items[h->n++] = p;
    s_heap_fix (h, p->heap_idx);
}

static void s_heap_remove (s_heap_t *h, s_pending_t *p)
{
    size_t i = p->heap_idx;
    if (i >= h->n || h->items[i] != p) return;
    h->n--;
    if (i != h->n) {
        h->items[i] = h->items[h->n];
        h->items[i]->heap_idx = i;
        s_heap_fix (h, i);
    }
}

/* ------------------------------------------------------------------ writes */

Hs__Write *hs_write_new (Hs__Op op, Hs__Object *obj)
{
    Hs__Write *w = hs_pb_new (&hs__write__descriptor);
    w->op = op;
    w->object = obj;
    const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (obj));
    if (info) hs_pb_set_str (&w->kind, info->name);
    return w;
}

Hs__Write *hs_write_target (Hs__Op op, hs_kind_t kind, const char *ns, const char *name)
{
    Hs__Write *w = hs_pb_new (&hs__write__descriptor);
    w->op = op;
    const hs_kind_info_t *info = hs_kind_info (kind);
    if (info) hs_pb_set_str (&w->kind, info->name);
    hs_pb_set_str (&w->namespace_, ns);
    hs_pb_set_str (&w->name, name);
    return w;
}

const char *hs_code_reason (Hs__Code code)
{
    switch (code) {
    case HS__CODE__CODE_OK: return "OK";
    case HS__CODE__CODE_INVALID: return "Invalid";
    case HS__CODE__CODE_NOT_FOUND: return "NotFound";
    case HS__CODE__CODE_ALREADY_EXISTS: return "AlreadyExists";
    case HS__CODE__CODE_CONFLICT: return "Conflict";
    case HS__CODE__CODE_FORBIDDEN: return "Forbidden";
    case HS__CODE__CODE_UNAVAILABLE: return "ServiceUnavailable";
    case HS__CODE__CODE_INTERNAL: return "InternalError";
    default: return "Unknown";
    }
}

/* ------------------------------------------------------------------ calls */

static void s_pending_free (s_pending_t *p)
{
    if (!p) return;
    free (p->cmd);
    hs_pb_free (p->ack);
    hs_pb_free (p->unavailable);
    free (p->topic);
    free (p);
}

/* The Command is packed once, here, straight from the caller's writes
 * (which stay the caller's, as before). It used to be a deep copy of the
 * writes (hs_pb_dup: pack, unpack), packed again inside the envelope on
 * every try and freed at the end, which cost the client more CPU per
 * apply (docs/architecture.md §4, "Pack once"). Every try sends the same
 * bytes, with a fresh sender_seq and sent_at_ns, as before. */
static s_pending_t *s_pending_new (hs_client_t *self, Hs__Write *const *writes, size_t n,
                                   const hs_call_opts_t *opts)
{
    s_pending_t *p = hs_calloc (1, sizeof *p);
    s_next_rid (self, p->rid);
    p->topic = hs_cmd_topic (writes, n); /* cmd.<kind> or cmd.multi */
    Hs__Command cmd = HS__COMMAND__INIT;
    cmd.client_id = (char *)hs_bus_instance (self->bus);
    cmd.request_id = p->rid;
    cmd.dry_run = opts && opts->dry_run;
    cmd.writes = (Hs__Write **)writes; /* only read by pack */
    cmd.n_writes = n;
    p->cmd = hs_pb_pack (&cmd, &p->cmd_len);

    int timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : CALL_TIMEOUT_MS;
    p->interval_ms = opts && opts->retry_ms > 0 ? opts->retry_ms : CALL_RETRY_MS;
    p->deadline_ns = hs_mono_ns () + (int64_t)timeout_ms * MS;
    return p;
}

/* Publishes one try of p's command. */
static int s_pending_publish (hs_client_t *self, s_pending_t *p)
{
    struct iovec body = {p->cmd, p->cmd_len};
    return hs_bus_publish_body (self->bus, p->topic, HS__ENVELOPE__BODY_COMMAND, &body, 1);
}

/* Publishes the first try and registers the call. 0, or -EMSGSIZE (never
 * registered then). Other send errors are retried like a lost message. */
static int s_pending_start (hs_client_t *self, s_pending_t *p)
{
    int r = s_pending_publish (self, p);
    if (r == -EMSGSIZE) return r;
    if (r < 0) log_debug ("command %s: send failed (%s), will retry", p->rid, strerror (-r));
    int64_t now = hs_mono_ns ();
    p->next_ns = now + (int64_t)p->interval_ms * MS;
    p->due_ns = s_min (p->next_ns, p->deadline_ns);
    s_map_put (&self->pending, hs_strdup (p->rid), p);
    s_heap_push (&self->heap, p);
    return 0;
}

/* Takes ownership of ack (may be NULL). Sync calls are only marked done; the
 * waiting hs_client_call frees them. */
static void s_pending_finish (hs_client_t *self, s_pending_t *p, int err, Hs__Ack *ack)
{
    s_map_del (&self->pending, p->rid);
    s_heap_remove (&self->heap, p);
    if (p->sync) {
        p->done = true;
        p->err = err;
        p->ack = ack;
        return;
    }
    if (p->fn) {
        self->depth++;
        p->fn (p->arg, err, ack);
        self->depth--;
    }
    hs_pb_free (ack);
    s_pending_free (p);
}

static void s_on_ack (hs_client_t *self, Hs__Envelope *env)
{
    Hs__Ack *ack = env->ack;
    s_pending_t *p = s_map_get (&self->pending, hs_s (ack->request_id));
    if (!p) return; /* an answer to a retry we no longer wait for */
    env->ack = NULL;
    env->body_case = HS__ENVELOPE__BODY__NOT_SET;
    if (ack->code == HS__CODE__CODE_UNAVAILABLE && self->replicated != 0 &&
        hs_mono_ns () < p->deadline_ns) {
        /* Not an answer from a replicated store: it lost its leadership
         * with the command in flight, which may still commit under the
         * next leader. Its retry timer resends it, same request id, or a
         * new store epoch or leader at once; at the deadline this is the
         * answer. A single store's Unavailable (a full disk) is the answer
         * at once, as it always was; before any hb.store has told which
         * store this is, the next one decides (s_store_kind). */
        hs_pb_free (p->unavailable);
        p->unavailable = ack;
        return;
    }
    s_pending_finish (self, p, 0, ack);
}

static void s_pending_timers (hs_client_t *self, int64_t now)
{
    while (self->heap.n && self->heap.items[0]->due_ns <= now) {
        s_pending_t *p = self->heap.items[0];
        if (now >= p->deadline_ns || p->give_up) {
            Hs__Ack *last = p->unavailable;
            p->unavailable = NULL;
            s_pending_finish (self, p, last ? 0 : -ETIMEDOUT, last);
            continue;
        }
        /* Same envelope, same request id: the store applies it at most once. */
        int r = s_pending_publish (self, p);
        if (r < 0) log_debug ("command %s: resend failed: %s", p->rid, strerror (-r));
        p->interval_ms =
            p->interval_ms * 2 > CALL_RETRY_MAX_MS ? CALL_RETRY_MAX_MS : p->interval_ms * 2;
        p->next_ns = now + (int64_t)p->interval_ms * MS;
        p->due_ns = s_min (p->next_ns, p->deadline_ns);
        s_heap_fix (&self->heap, 0);
    }
}

/* Resends every unacked command now, same request ids (the store's request
 * table answers one it already applied as a replay), instead of waiting
 * for its retry timer: whoever answers commands has changed, or acks may
 * have been lost while the SUB socket moved. Each keeps its backoff; its
 * next retry counts from now. */
static void s_pending_resend_all (hs_client_t *self, const char *why)
{
    size_t n = self->heap.n;
    if (!n) return;
    log_debug ("resending %zu unacked commands (%s)", n, why);
    s_pending_t **items = hs_malloc (n * sizeof *items);
    memcpy (items, self->heap.items, n * sizeof *items);
    self->heap.n = 0;
    int64_t now = hs_mono_ns ();
    for (size_t i = 0; i < n; i++) {
        s_pending_t *p = items[i];
        int r = s_pending_publish (self, p);
        if (r < 0) log_debug ("command %s: resend failed: %s", p->rid, strerror (-r));
        p->next_ns = now + (int64_t)p->interval_ms * MS;
        p->due_ns = s_min (p->next_ns, p->deadline_ns);
        s_heap_push (&self->heap, p);
    }
    self->resends += n;
    free (items);
}

/* The raft term of epoch, as its hb.store said; 0: unknown, or a single
 * store's. */
static uint64_t s_epoch_term (const hs_client_t *self, uint64_t epoch)
{
    for (size_t i = 0; i < self->n_terms && i < EPOCH_TERMS; i++)
        if (self->terms[i].epoch == epoch) return self->terms[i].term;
    return 0;
}

static void s_epoch_term_note (hs_client_t *self, uint64_t epoch, uint64_t term)
{
    if (!term || s_epoch_term (self, epoch) == term) return;
    if (term > self->max_term) self->max_term = term;
    for (size_t i = 0; i < self->n_terms && i < EPOCH_TERMS; i++) {
        if (self->terms[i].epoch == epoch) {
            self->terms[i].term = term;
            return;
        }
    }
    size_t i = self->n_terms++ % EPOCH_TERMS;
    self->terms[i].epoch = epoch;
    self->terms[i].term = term;
}

/* Whether epoch belongs to a raft term older than the newest one heard:
 * a deposed leader's (it publishes until libraft steps it down, and may
 * still answer a snapshot request). Its messages are dropped. */
static bool s_epoch_stale (const hs_client_t *self, uint64_t epoch)
{
    uint64_t t = s_epoch_term (self, epoch);
    return t && t < self->max_term;
}

/* Which store answers commands, from an hb.store: a replicated store's
 * Unavailable is retried, a single store's is the answer. The first
 * hb.store that says "single" answers the Unavailable acks parked until
 * it came. */
static void s_store_kind (hs_client_t *self, const Hs__StoreHeartbeat *hb)
{
    int replicated = !hs_empty (hb->member) || strcmp (hs_s (hb->role), "leader") == 0;
    if (replicated == self->replicated) return;
    self->replicated = replicated;
    if (replicated) return;
    size_t n = 0;
    s_pending_t **items = hs_malloc ((self->heap.n ? self->heap.n : 1) * sizeof *items);
    for (size_t i = 0; i < self->heap.n; i++)
        if (self->heap.items[i]->unavailable) items[n++] = self->heap.items[i];
    int64_t now = hs_mono_ns ();
    for (size_t i = 0; i < n; i++) {
        items[i]->give_up = true; /* s_pending_timers answers it, next */
        items[i]->due_ns = now;
        s_heap_fix (&self->heap, items[i]->heap_idx);
    }
    free (items);
}

/* hb.store: a new epoch or a new sender is a new store (or leader). false:
 * a deposed leader's (a lower raft term than one already heard), which
 * nobody acts on. */
static bool s_on_store_heartbeat (hs_client_t *self, const Hs__Envelope *env)
{
    const Hs__StoreHeartbeat *hb = env->store_heartbeat;
    /* Terms order the epochs of ONE replicated store. A single store (term
     * 0: a deposed leader never sends it) or another cluster (a control
     * plane rebuilt while clients run: its terms start at 1 again) starts
     * the order over; else every hb.store of it would be dropped as a
     * deposed leader's, for good. */
    const char *cid = hs_s (hb->cluster_id);
    if (!hb->term || strcmp (cid, hs_s (self->cluster_id)) != 0) {
        if (self->max_term)
            log_info ("hb.store from %s%s: raft terms start over", hb->term ? "cluster " : "",
                      hb->term ? cid : "a single store");
        self->max_term = 0;
        self->n_terms = 0;
        free (self->cluster_id);
        self->cluster_id = hb->term ? hs_strdup (cid) : NULL;
    }
    s_epoch_term_note (self, hb->epoch, hb->term); /* a stale one's too: its chunks and events */
    if (hb->term && hb->term < self->max_term) return false;
    self->hb_ns = hs_mono_ns ();
    self->silent_moves = 0;
    s_store_kind (self, hb);
    const char *sender = hs_s (env->sender);
    if (self->store_epoch == hb->epoch && self->store_sender &&
        strcmp (self->store_sender, sender) == 0)
        return true;
    /* The previous one's late word (through a slower broker), unless a
     * higher term says it is the newer one. */
    if (hb->epoch != self->store_epoch && hb->epoch == self->store_prev_epoch &&
        !(hb->term && hb->term > s_epoch_term (self, self->store_epoch)))
        return true;
    bool known = self->store_epoch != 0;
    if (hb->epoch != self->store_epoch) self->store_prev_epoch = self->store_epoch;
    self->store_epoch = hb->epoch;
    free (self->store_sender);
    self->store_sender = hs_strdup (sender);
    if (known) s_pending_resend_all (self, "a new store epoch or leader");
    return true;
}

/* ------------------------------------------------------------------ snapshots */

static void s_snapshot_reset (hs_db_snapshot_t *s)
{
    hs_db_snapshot_t empty = {0};
    for (size_t i = 0; i < s->n_objects; i++) hs_pb_free (s->objects[i]);
    free (s->objects);
    for (size_t i = 0; i < s->n_streams; i++) hs_pb_free (s->streams[i]);
    free (s->streams);
    *s = empty;
}

static void s_snap_request (hs_client_t *self, s_snap_t *s)
{
    s_next_rid (self, s->rid);
    s_snapshot_reset (&s->acc);
    s->cap = 0;
    s->next_index = 0;
    s->received = 0;
    Hs__SnapshotRequest req = HS__SNAPSHOT_REQUEST__INIT;
    req.client_id = (char *)hs_bus_instance (self->bus);
    req.request_id = s->rid;
    req.kinds = s->kinds;
    req.n_kinds = s->n_kinds;
    req.pod_node = (char *)hs_s (s->pod_node);
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_SNAPSHOT_REQUEST;
    env.snapshot_request = &req;
    int r = s_publish_stack (self, "cmd.snapshot", &env);
    if (r < 0) log_debug ("snapshot request: send failed: %s", strerror (-r));
    s->stall_ns = hs_mono_ns () + SNAP_STALL_MS * MS;
}

static s_snap_t *s_snap_new (hs_client_t *self, hs_watch_t *w, const hs_kind_t *kinds, size_t n,
                             const char *pod_node, int timeout_ms)
{
    s_snap_t *s = hs_calloc (1, sizeof *s);
    s->watch = w;
    for (size_t i = 0; i < n; i++) {
        const hs_kind_info_t *info = hs_kind_info (kinds[i]);
        if (!info) continue;
        s->kinds = hs_realloc (s->kinds, (s->n_kinds + 1) * sizeof *s->kinds);
        s->kinds[s->n_kinds++] = hs_strdup (info->name);
    }
    s->pod_node = hs_empty (pod_node) ? NULL : hs_strdup (pod_node);
    s->deadline_ns = timeout_ms > 0 ? hs_mono_ns () + (int64_t)timeout_ms * MS : 0;
    s->next = self->snaps;
    self->snaps = s;
    s_snap_request (self, s);
    return s;
}

static void s_snap_free (hs_client_t *self, s_snap_t *s)
{
    for (s_snap_t **pp = &self->snaps; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    for (size_t i = 0; i < s->n_kinds; i++) free (s->kinds[i]);
    free (s->kinds);
    free (s->pod_node);
    s_snapshot_reset (&s->acc);
    free (s);
}

static s_snap_t *s_snap_find (hs_client_t *self, const char *rid)
{
    if (hs_empty (rid)) return NULL;
    for (s_snap_t *s = self->snaps; s; s = s->next)
        if (!s->done && strcmp (s->rid, rid) == 0) return s;
    return NULL;
}

static void s_watch_snapshot_done (hs_watch_t *w, s_snap_t *s);

static void s_on_chunk (hs_client_t *self, Hs__Envelope *env)
{
    Hs__SnapshotChunk *ch = env->snapshot_chunk;
    s_snap_t *s = s_snap_find (self, ch->request_id);
    if (!s) return; /* an answer to a request we replaced */
    if (ch->code != HS__CODE__CODE_OK) {
        log_debug ("snapshot %s refused: %s: %s", s->rid, hs_code_reason (ch->code),
                   hs_s (ch->message));
        if (!s->watch) {
            s->done = true;
            s->err = -EPROTO;
        } else {
            s->rid[0] = '\0'; /* a watch cannot give up: ask again after a stall */
        }
        return;
    }
    if (ch->epoch && s_epoch_stale (self, ch->epoch)) return; /* a deposed leader's answer */
    if (ch->epoch && s->next_index && s->acc.epoch && ch->epoch != s->acc.epoch) {
        /* Two stores answer (a deposed leader that has not stepped down
         * yet, and the new one): keep the first unless the other's term
         * is higher, then start over. Never mix the two. */
        uint64_t t = s_epoch_term (self, ch->epoch);
        if (t && t > s_epoch_term (self, s->acc.epoch)) {
            log_debug ("snapshot %s: a newer store epoch answers, asking again", s->rid);
            s_snap_request (self, s);
        }
        return;
    }
    if (ch->index < s->next_index) return; /* a repeat (just after a broker move) */
    if (ch->index != s->next_index) {
        log_debug ("snapshot %s: chunk %u where %u was due, asking again", s->rid, ch->index,
                   s->next_index);
        s_snap_request (self, s);
        return;
    }
    s->next_index++;
    for (size_t i = 0; i < ch->n_objects; i++) {
        Hs__Object *o = ch->objects[i];
        ch->objects[i] = NULL;
        s->received++;
        if (hs_obj_kind (o) == HS_KIND_NONE || !hs_obj_meta (o)) {
            hs_pb_free (o); /* unusable: no key */
            continue;
        }
        if (s->acc.n_objects == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 64;
            s->acc.objects = hs_realloc (s->acc.objects, s->cap * sizeof *s->acc.objects);
        }
        s->acc.objects[s->acc.n_objects++] = o;
    }
    if (ch->epoch) s->acc.epoch = ch->epoch;
    if (ch->revision) s->acc.revision = ch->revision;
    if (ch->n_streams) {
        for (size_t i = 0; i < s->acc.n_streams; i++) hs_pb_free (s->acc.streams[i]);
        free (s->acc.streams);
        s->acc.streams = ch->streams;
        s->acc.n_streams = ch->n_streams;
        ch->streams = NULL;
        ch->n_streams = 0;
    }
    s->stall_ns = hs_mono_ns () + SNAP_STALL_MS * MS;
    if (!ch->last) return;
    if (ch->total_objects != s->received) {
        log_debug ("snapshot %s: %llu objects announced, %llu received, asking again", s->rid,
                   (unsigned long long)ch->total_objects, (unsigned long long)s->received);
        s_snap_request (self, s);
        return;
    }
    s->done = true;
    s->err = 0;
    if (s->watch) s_watch_snapshot_done (s->watch, s);
}

static void s_snap_timers (hs_client_t *self, int64_t now)
{
    for (s_snap_t *s = self->snaps; s; s = s->next) {
        if (s->done) continue;
        if (s->deadline_ns && now >= s->deadline_ns) {
            s->done = true;
            s->err = -ETIMEDOUT;
        } else if (now >= s->stall_ns) {
            log_debug ("snapshot %s: no progress, asking again", s->rid);
            s_snap_request (self, s);
        }
    }
}

/* ------------------------------------------------------------------ watches */

static bool s_watch_covers (const hs_watch_t *w, const char *stream)
{
    const char *dot = strchr (stream, '.');
    if (!dot) return false;
    for (size_t i = 0; i < w->n_kinds; i++) {
        const hs_kind_info_t *info = hs_kind_info (w->kind_list[i]);
        size_t len = strlen (info->name);
        if ((size_t)(dot - stream) != len || strncmp (stream, info->name, len) != 0) continue;
        if (w->kind_list[i] == HS_KIND_POD && w->pod_node)
            return strcmp (dot + 1, w->pod_node) == 0;
        return true;
    }
    return false;
}

static bool s_watch_wants (const hs_watch_t *w, const Hs__Object *o)
{
    hs_kind_t k = hs_obj_kind (o);
    if (k == HS_KIND_NONE || !w->kinds[k] || !hs_obj_meta (o)) return false;
    if (k == HS_KIND_POD && w->pod_node) return strcmp (hs_obj_routing (o), w->pod_node) == 0;
    return true;
}

static bool s_watch_matches_topic (const hs_watch_t *w, const char *topic)
{
    for (size_t i = 0; i < w->n_prefixes; i++)
        if (hs_startswith (topic, w->prefixes[i])) return true;
    return false;
}

static s_stream_t *s_stream_get (s_map_t *streams, const char *name)
{
    s_stream_t *st = s_map_get (streams, name);
    if (!st) {
        st = hs_calloc (1, sizeof *st);
        s_map_put (streams, hs_strdup (name), st);
    }
    return st;
}

static void s_deliver (hs_watch_t *w, Hs__EventType type, const Hs__Object *obj,
                       const Hs__Object *old)
{
    if (!w->fn) return;
    w->client->depth++;
    w->fn (w->arg, type, obj, old);
    w->client->depth--;
}

static void s_watch_buffer (hs_watch_t *w, Hs__WatchEvent *ev)
{
    if (w->n_buf >= WATCH_BUFFER_MAX) {
        w->buf_overflow = true; /* the load will resync once more */
        hs_pb_free (ev);
        return;
    }
    if (w->n_buf == w->cap_buf) {
        w->cap_buf = w->cap_buf ? w->cap_buf * 2 : 64;
        w->buf = hs_realloc (w->buf, w->cap_buf * sizeof *w->buf);
    }
    w->buf[w->n_buf++] = ev;
}

static void s_watch_buffer_clear (hs_watch_t *w)
{
    for (size_t i = 0; i < w->n_buf; i++) hs_pb_free (w->buf[i]);
    w->n_buf = 0;
    w->buf_overflow = false;
}

/* Applies ev (consumed) to cache. When deliver, tells the callback; the type
 * it reports follows the cache (a pod newly bound to a filtered node arrives
 * as MODIFIED on the wire but is ADDED for this watch). */
static void s_apply (hs_watch_t *w, s_map_t *cache, Hs__WatchEvent *ev, bool deliver)
{
    Hs__Object *obj = ev->object;
    ev->object = NULL;
    Hs__EventType type = ev->type;
    hs_pb_free (ev);
    char *key = hs_obj_key_of (obj);
    if (type == HS__EVENT_TYPE__DELETED) {
        Hs__Object *old = s_map_del (cache, key);
        free (key);
        if (old) {
            w->sorted_dirty = true;
            if (deliver) s_deliver (w, HS__EVENT_TYPE__DELETED, obj, old);
        }
        hs_pb_free (old);
        hs_pb_free (obj);
    } else if (type == HS__EVENT_TYPE__ADDED || type == HS__EVENT_TYPE__MODIFIED) {
        Hs__Object *old = s_map_put (cache, key, obj);
        if (!old) w->sorted_dirty = true;
        if (deliver)
            s_deliver (w, old ? HS__EVENT_TYPE__MODIFIED : HS__EVENT_TYPE__ADDED, obj, old);
        hs_pb_free (old);
    } else {
        free (key);
        hs_pb_free (obj);
    }
}

/* Whether this watch has resynced away from epoch: what comes from it
 * now is late (a deposed store's last words, or a message that took a
 * slower broker), covered by the snapshot of the newer epoch. Acting on it
 * would apply an event twice or resync back and forth. */
static bool s_epoch_left (const hs_watch_t *w, uint64_t epoch)
{
    for (size_t i = 0; i < w->n_left && i < LEFT_EPOCHS; i++)
        if (w->left[i] == epoch) return true;
    return false;
}

/* Where a message of epoch stands for watch w: 0 its own, -1 old (drop
 * it: a deposed leader's, or late through a slower broker), 1 newer
 * (resync). Raft terms order epochs when known; a single store's (term 0)
 * fall back on the epochs the watch left. */
static int s_watch_epoch_cmp (const hs_watch_t *w, uint64_t epoch)
{
    const hs_client_t *self = w->client;
    if (s_epoch_stale (self, epoch)) return -1;
    if (epoch == w->epoch) return 0;
    uint64_t t = s_epoch_term (self, epoch), tw = s_epoch_term (self, w->epoch);
    if (t && tw && t != tw) return t > tw ? 1 : -1;
    /* A replicated store's epoch we have no hb.store of yet: its hb.store
     * (every 200 ms, with its term) decides, not an event that may be a
     * deposed leader's. */
    if (!t && self->max_term) return -1;
    return s_epoch_left (w, epoch) ? -1 : 1;
}

static void s_watch_resync (hs_watch_t *w, const char *why)
{
    if (w->state != W_LIVE) return; /* already (re)loading */
    int64_t now = hs_mono_ns ();
    log_debug ("watch: resync (%s)", why);
    w->state = W_RESYNC_WAIT;
    w->due_ns = w->last_resync_ns + (int64_t)w->resync_gap_ms * MS;
    if (w->due_ns < now) w->due_ns = now;
}

static int s_local_snapshot (hs_watch_t *w, hs_db_snapshot_t *ret)
{
    hs_db_opts_t o = {.readonly = true};
    hs_db_t *db = NULL;
    int r = hs_db_open (w->local_store, &o, &db);
    if (r < 0) return r;
    r = hs_db_snapshot (db, w->kind_list, w->n_kinds, w->pod_node, ret);
    hs_db_close (&db);
    return r;
}

static void s_watch_load (hs_watch_t *w, hs_db_snapshot_t *snap);

static void s_watch_start_snapshot (hs_watch_t *w)
{
    hs_client_t *self = w->client;
    int64_t now = hs_mono_ns ();
    /* Resyncs that follow each other closely back off, so a confused store
     * cannot make us snapshot in a tight loop. */
    if (w->synced) {
        if (now - w->last_resync_ns < 2000 * MS)
            w->resync_gap_ms =
                w->resync_gap_ms * 2 > RESYNC_GAP_MAX_MS ? RESYNC_GAP_MAX_MS : w->resync_gap_ms * 2;
        else
            w->resync_gap_ms = RESYNC_GAP_MS;
    }
    w->last_resync_ns = now;
    w->state = W_SNAPSHOT;
    if (w->local_store) {
        hs_db_snapshot_t snap = {0};
        int r = s_local_snapshot (w, &snap);
        if (r == 0) {
            s_watch_load (w, &snap);
            hs_db_snapshot_free (&snap);
            return;
        }
        log_debug ("watch: local snapshot of %s failed (%s), asking the store", w->local_store,
                   strerror (-r));
    }
    w->snap = s_snap_new (self, w, w->kind_list, w->n_kinds, w->pod_node, 0);
}

static void s_watch_snapshot_done (hs_watch_t *w, s_snap_t *s)
{
    hs_db_snapshot_t snap = s->acc;
    s->acc = (hs_db_snapshot_t){0};
    w->snap = NULL;
    s_snap_free (w->client, s);
    if (s_epoch_stale (w->client, snap.epoch)) {
        /* A deposed leader's (its term is lower than one heard since the
         * request went out): never move to it; ask again. */
        log_debug ("watch: snapshot of a deposed leader's epoch, asking again");
        s_snapshot_reset (&snap);
        w->state = W_RESYNC_WAIT;
        w->due_ns = hs_mono_ns () + (int64_t)w->resync_gap_ms * MS;
        return;
    }
    s_watch_load (w, &snap);
    s_snapshot_reset (&snap);
}

/* Loads a snapshot (its objects are taken; the caller frees what is left),
 * applies the buffered events newer than it, replaces the cache and tells the
 * callback: ADDED for everything the first time, the difference afterwards. */
static void s_watch_load (hs_watch_t *w, hs_db_snapshot_t *snap)
{
    s_map_t cache = {0}, streams = {0};
    for (size_t i = 0; i < snap->n_objects; i++) {
        Hs__Object *o = snap->objects[i];
        if (!s_watch_wants (w, o)) continue;
        snap->objects[i] = NULL;
        hs_pb_free (s_map_put (&cache, hs_obj_key_of (o), o));
    }
    for (size_t i = 0; i < snap->n_streams; i++) {
        const Hs__StreamSeq *ss = snap->streams[i];
        if (ss && !hs_empty (ss->stream) && s_watch_covers (w, ss->stream))
            s_stream_get (&streams, ss->stream)->last = ss->seq;
    }
    int64_t revision = snap->revision;
    bool again = w->buf_overflow;
    for (size_t i = 0; i < w->n_buf; i++) {
        Hs__WatchEvent *ev = w->buf[i];
        w->buf[i] = NULL;
        /* Another epoch: the next heartbeat tells whether we are behind. */
        if (ev->epoch != snap->epoch) {
            hs_pb_free (ev);
            continue;
        }
        s_stream_t *st = s_stream_get (&streams, ev->stream);
        if (ev->seq <= st->last) {
            hs_pb_free (ev);
            continue;
        }
        if (ev->seq != st->last + 1) {
            again = true; /* lost while we loaded */
            hs_pb_free (ev);
            continue;
        }
        st->last = ev->seq;
        if (ev->revision > revision) revision = ev->revision;
        s_apply (w, &cache, ev, false);
    }
    w->n_buf = 0;
    w->buf_overflow = false;

    s_map_t old = w->cache;
    w->cache = cache;
    s_map_clear (&w->streams, free);
    w->streams = streams;
    w->sorted_dirty = true;
    /* Only a term-0 epoch (a single store's, or one whose hb.store we never
     * heard) needs remembering: raft terms order the others, and a left
     * epoch of a higher term would freeze the watch on an older one. */
    if (w->epoch && w->epoch != snap->epoch && !s_epoch_term (w->client, w->epoch))
        w->left[w->n_left++ % LEFT_EPOCHS] = w->epoch;
    for (size_t i = 0; i < w->n_left && i < LEFT_EPOCHS; i++)
        if (w->left[i] == snap->epoch) w->left[i] = 0; /* back to it: no longer left */
    w->epoch = snap->epoch;
    w->own_hb_ns = hs_mono_ns ();
    w->revision = revision;
    w->state = W_LIVE;
    bool initial = !w->synced;
    w->synced = true;
    if (!initial) w->resyncs++;

    if (w->fn) {
        const char **keys = s_map_sorted_keys (&w->cache);
        size_t n = w->cache.n;
        for (size_t i = 0; i < n; i++) {
            const Hs__Object *o = s_map_get (&w->cache, keys[i]);
            const Hs__Object *was = initial ? NULL : s_map_get (&old, keys[i]);
            if (!was)
                s_deliver (w, HS__EVENT_TYPE__ADDED, o, NULL);
            else if (!hs_pb_equal (o, was))
                s_deliver (w, HS__EVENT_TYPE__MODIFIED, o, was);
        }
        free (keys);
        if (!initial) {
            keys = s_map_sorted_keys (&old);
            n = old.n;
            for (size_t i = 0; i < n; i++) {
                if (s_map_get (&w->cache, keys[i])) continue;
                const Hs__Object *was = s_map_get (&old, keys[i]);
                s_deliver (w, HS__EVENT_TYPE__DELETED, was, was);
            }
            free (keys);
        }
    }
    s_map_clear (&old, s_free_obj);
    if (again) s_watch_resync (w, "events lost while loading");
}

/* ev is the watch's own (consumed). */
static void s_watch_on_event (hs_watch_t *w, Hs__WatchEvent *ev)
{
    if (!ev->object || hs_empty (ev->stream) || !s_watch_covers (w, ev->stream) ||
        !hs_obj_in_stream (ev->object, ev->stream)) {
        /* Not ours, or unusable (an object of another kind or routing than
         * its stream: the callbacks trust the kind). If it was a real one,
         * the sequence gap it leaves makes us resync. */
        hs_pb_free (ev);
        return;
    }
    int cmp = s_watch_epoch_cmp (w, ev->epoch);
    if (cmp < 0) {
        /* late, through a slower broker (applied or resynced), or a
         * deposed leader's */
        hs_pb_free (ev);
        return;
    }
    if (w->state != W_LIVE) {
        s_watch_buffer (w, ev);
        return;
    }
    if (cmp > 0) {
        s_watch_resync (w, "new store epoch in an event");
        s_watch_buffer (w, ev);
        return;
    }
    s_stream_t *st = s_stream_get (&w->streams, ev->stream);
    if (ev->seq <= st->last) {
        hs_pb_free (ev); /* duplicate or older */
        return;
    }
    if (ev->seq != st->last + 1) {
        s_watch_resync (w, "sequence gap");
        s_watch_buffer (w, ev);
        return;
    }
    st->last = ev->seq;
    st->ahead = 0;
    if (ev->revision > w->revision) w->revision = ev->revision;
    s_apply (w, &w->cache, ev, true);
}

static void s_watch_on_heartbeat (hs_watch_t *w, const Hs__StoreHeartbeat *hb)
{
    if (w->state != W_LIVE) return;
    if (s_epoch_stale (w->client, w->epoch)) {
        s_watch_resync (w, "its store epoch is a deposed leader's");
        return;
    }
    int cmp = s_watch_epoch_cmp (w, hb->epoch);
    if (cmp < 0) return;
    if (cmp > 0) {
        s_watch_resync (w, "new store epoch");
        return;
    }
    w->own_hb_ns = hs_mono_ns ();
    bool behind = false;
    for (size_t i = 0; i < hb->n_streams; i++) {
        const Hs__StreamSeq *ss = hb->streams[i];
        if (!ss || hs_empty (ss->stream) || !s_watch_covers (w, ss->stream)) continue;
        s_stream_t *st = s_stream_get (&w->streams, ss->stream);
        if (ss->seq > st->last) {
            behind = true;
            if (++st->ahead >= HB_AHEAD_LIMIT) {
                s_watch_resync (w, "stream tail lost");
                return;
            }
        } else {
            st->ahead = 0;
        }
    }
    /* Everything up to the heartbeat's revision has reached us. */
    if (!behind && hb->revision > w->revision) w->revision = hb->revision;
}

static void s_watch_send_fence (hs_watch_t *w)
{
    Hs__Ping ping = HS__PING__INIT;
    ping.nonce = w->fence_nonce;
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_PING;
    env.ping = &ping;
    s_publish_stack (w->client, w->fence_topic, &env);
    w->due_ns = hs_mono_ns () + FENCE_RESEND_MS * MS;
}

static void s_watch_fence_passed (hs_watch_t *w)
{
    hs_bus_unsubscribe (w->client->bus, w->fence_topic);
    s_watch_start_snapshot (w);
}

static void s_on_fence (hs_client_t *self, const char *topic, const Hs__Envelope *env)
{
    for (size_t i = 0; i < self->n_watches; i++) {
        hs_watch_t *w = self->watches[i];
        if (w->state == W_FENCE && strcmp (topic, w->fence_topic) == 0 &&
            strcmp (hs_s (env->ping->nonce), w->fence_nonce) == 0)
            s_watch_fence_passed (w);
    }
}

/* When a live watch's silence check fires: no hb.store of its epoch for
 * WATCH_SILENT_MS while others arrive (it may follow a leader nobody else
 * does), or none at all for WATCH_SILENT_MAX_MS. */
static int64_t s_watch_silent_due (const hs_watch_t *w)
{
    bool others = w->client->hb_ns > w->own_hb_ns;
    return w->own_hb_ns + (int64_t)(others ? WATCH_SILENT_MS : WATCH_SILENT_MAX_MS) * MS;
}

static void s_watch_timers (hs_client_t *self, int64_t now)
{
    for (size_t i = 0; i < self->n_watches; i++) {
        hs_watch_t *w = self->watches[i];
        if (w->state == W_FENCE) {
            if (now - w->fence_start_ns >= FENCE_GIVEUP_MS * MS)
                s_watch_fence_passed (w);
            else if (now >= w->due_ns)
                s_watch_send_fence (w);
        } else if (w->state == W_RESYNC_WAIT && now >= w->due_ns) {
            s_watch_start_snapshot (w);
        } else if (w->state == W_LIVE && now >= s_watch_silent_due (w)) {
            s_watch_resync (w, self->hb_ns > w->own_hb_ns
                                   ? "no hb.store of its epoch while others arrive"
                                   : "no hb.store at all");
        }
    }
}

static void s_on_event (hs_client_t *self, const char *topic, Hs__Envelope *env)
{
    /* Only the watches present now; a callback may add more. */
    size_t n = self->n_watches, n_match = 0;
    hs_watch_t **match = hs_malloc ((n ? n : 1) * sizeof *match);
    for (size_t i = 0; i < n; i++)
        if (s_watch_matches_topic (self->watches[i], topic)) match[n_match++] = self->watches[i];
    for (size_t i = 0; i < n_match; i++) {
        Hs__WatchEvent *ev;
        if (i + 1 == n_match) { /* the last one takes the decoded event */
            ev = env->event;
            env->event = NULL;
            env->body_case = HS__ENVELOPE__BODY__NOT_SET;
        } else {
            ev = hs_pb_dup (env->event);
        }
        s_watch_on_event (match[i], ev);
    }
    free (match);
}

static void s_watch_free (hs_watch_t *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n_prefixes; i++) free (w->prefixes[i]);
    free (w->prefixes);
    free (w->fence_topic);
    free (w->pod_node);
    free (w->local_store);
    s_map_clear (&w->cache, s_free_obj);
    s_map_clear (&w->streams, free);
    free (w->sorted);
    s_watch_buffer_clear (w);
    free (w->buf);
    free (w);
}

hs_watch_t *hs_client_watch (hs_client_t *self, const hs_watch_opts_t *opts)
{
    hs_watch_t *w = hs_calloc (1, sizeof *w);
    w->client = self;
    if (!opts->kinds || opts->n_kinds == 0) {
        for (int k = HS_KIND_NONE + 1; k < HS_KIND__COUNT; k++) w->kinds[k] = true;
    } else {
        for (size_t i = 0; i < opts->n_kinds; i++) {
            if (!hs_kind_info (opts->kinds[i])) {
                free (w);
                return NULL;
            }
            w->kinds[opts->kinds[i]] = true;
        }
    }
    for (int k = HS_KIND_NONE + 1; k < HS_KIND__COUNT; k++)
        if (w->kinds[k]) w->kind_list[w->n_kinds++] = (hs_kind_t)k;
    w->pod_node = hs_empty (opts->pod_node) ? NULL : hs_strdup (opts->pod_node);
    w->local_store = hs_empty (opts->local_store) ? NULL : hs_strdup (opts->local_store);
    w->fn = opts->fn;
    w->arg = opts->arg;
    w->resync_gap_ms = RESYNC_GAP_MS;

    w->prefixes = hs_calloc (w->n_kinds, sizeof *w->prefixes);
    for (size_t i = 0; i < w->n_kinds; i++) {
        const hs_kind_info_t *info = hs_kind_info (w->kind_list[i]);
        if (w->kind_list[i] == HS_KIND_POD && w->pod_node)
            w->prefixes[i] = hs_topic_events (HS_KIND_POD, w->pod_node);
        else
            w->prefixes[i] = hs_topic_events (info->kind, NULL);
        hs_bus_subscribe (self->bus, w->prefixes[i]);
    }
    w->n_prefixes = w->n_kinds;
    hs_bus_subscribe (self->bus, "hb.store");

    /* The fence: subscriptions reach the broker in order, so once a ping on a
     * topic subscribed last comes back, the event subscriptions are in force
     * and the snapshot we take next misses nothing. */
    hs_random_id (w->fence_nonce, RID_LEN);
    w->fence_topic = hs_sprintf ("%s%s", self->echo_prefix, w->fence_nonce);
    hs_bus_subscribe (self->bus, w->fence_topic);
    w->state = W_FENCE;
    w->fence_start_ns = hs_mono_ns ();
    s_watch_send_fence (w);

    self->watches = hs_realloc (self->watches, (self->n_watches + 1) * sizeof *self->watches);
    self->watches[self->n_watches++] = w;
    return w;
}

bool hs_watch_synced (hs_watch_t *w)
{
    return w->synced;
}

int hs_watch_wait_synced (hs_watch_t *w, int timeout_ms)
{
    hs_client_t *self = w->client;
    if (self->depth > 0) return -EDEADLK;
    int64_t deadline = hs_mono_ns () + (int64_t)timeout_ms * MS;
    while (!w->synced) {
        int64_t left = (deadline - hs_mono_ns () + MS - 1) / MS;
        if (left <= 0) return -ETIMEDOUT;
        int r = hs_client_process (self, (int)left);
        if (r < 0 && r != -EAGAIN) return r;
    }
    return 0;
}

const Hs__Object *hs_watch_get (hs_watch_t *w, hs_kind_t kind, const char *ns, const char *name)
{
    _cleanup_free_ char *key = hs_obj_key (kind, ns, name);
    return s_map_get (&w->cache, key);
}

size_t hs_watch_list (hs_watch_t *w, hs_kind_t kind, const Hs__Object ***ret)
{
    if (w->sorted_dirty || !w->sorted) {
        free (w->sorted);
        w->sorted = s_map_sorted_keys (&w->cache);
        w->n_sorted = w->cache.n;
        w->sorted_dirty = false;
    }
    const Hs__Object **out = hs_malloc ((w->n_sorted ? w->n_sorted : 1) * sizeof *out);
    size_t n = 0;
    const hs_kind_info_t *info = hs_kind_info (kind);
    size_t plen = info ? strlen (info->name) : 0;
    for (size_t i = 0; i < w->n_sorted; i++) {
        const char *key = w->sorted[i];
        if (info && (strncmp (key, info->name, plen) != 0 || key[plen] != '/')) continue;
        out[n++] = s_map_get (&w->cache, key);
    }
    *ret = out;
    return n;
}

int64_t hs_watch_revision (hs_watch_t *w)
{
    return w->revision;
}

uint64_t hs_watch_epoch (hs_watch_t *w)
{
    return w->epoch;
}

uint64_t hs_watch_resyncs (hs_watch_t *w)
{
    return w->resyncs;
}

/* ------------------------------------------------------------------ dispatch */

/* Inside a callback only what cannot touch a cache is handled: acks and the
 * chunks of a synchronous hs_client_snapshot. */
static bool s_must_defer (hs_client_t *self, const char *topic, const Hs__Envelope *env)
{
    if (env->body_case == HS__ENVELOPE__BODY_ACK && strcmp (topic, self->ack_topic) == 0)
        return false;
    if (env->body_case == HS__ENVELOPE__BODY_SNAPSHOT_CHUNK &&
        strcmp (topic, self->snap_topic) == 0) {
        s_snap_t *s = s_snap_find (self, env->snapshot_chunk->request_id);
        return s && s->watch;
    }
    return true;
}

static void s_defer (hs_client_t *self, char *topic, Hs__Envelope *env, const char *peer)
{
    if (self->n_defer >= DEFER_MAX) {
        /* Dropping is safe: sequences and acks retries recover it. */
        free (topic);
        hs_pb_free (env);
        return;
    }
    s_deferred_t *d = hs_calloc (1, sizeof *d);
    d->topic = topic;
    d->env = env;
    d->peer = peer ? hs_strdup (peer) : NULL;
    if (self->defer_tail)
        self->defer_tail->next = d;
    else
        self->defer_head = d;
    self->defer_tail = d;
    self->n_defer++;
}

/* Takes ownership of topic and env; peer (hs-bus's stamp, or NULL) is
 * borrowed. */
static void s_dispatch (hs_client_t *self, char *topic, Hs__Envelope *env, const char *peer)
{
    if (self->depth > 0 && s_must_defer (self, topic, env)) {
        s_defer (self, topic, env, peer);
        return;
    }
    /* Handlers first: watches may take parts of the envelope. The array may
     * grow under us (hs_client_on from a handler), so index it afresh. */
    const char *outer = self->peer;
    for (size_t i = 0; i < self->n_handlers; i++) {
        if (!hs_startswith (topic, self->handlers[i].prefix)) continue;
        self->depth++;
        self->peer = peer;
        self->handlers[i].fn (self->handlers[i].arg, topic, env);
        self->depth--;
    }
    self->peer = outer;
    switch (env->body_case) {
    case HS__ENVELOPE__BODY_ACK:
        if (strcmp (topic, self->ack_topic) == 0) s_on_ack (self, env);
        break;
    case HS__ENVELOPE__BODY_SNAPSHOT_CHUNK:
        if (strcmp (topic, self->snap_topic) == 0) s_on_chunk (self, env);
        break;
    case HS__ENVELOPE__BODY_PING:
        if (hs_startswith (topic, self->echo_prefix)) s_on_fence (self, topic, env);
        break;
    case HS__ENVELOPE__BODY_EVENT:
        if (hs_startswith (topic, "ev.")) s_on_event (self, topic, env);
        break;
    case HS__ENVELOPE__BODY_STORE_HEARTBEAT:
        if (strcmp (topic, "hb.store") == 0 && s_on_store_heartbeat (self, env)) {
            size_t n = self->n_watches;
            for (size_t i = 0; i < n; i++)
                s_watch_on_heartbeat (self->watches[i], env->store_heartbeat);
        }
        break;
    default: break;
    }
    free (topic);
    hs_pb_free (env);
}

/* Several brokers: the ZMTP link to ours may be fine while the store's
 * link to it is cut (a partial partition), so no hb.store through it for
 * STORE_SILENT_MS moves the SUB socket to the next broker. */
static void s_store_silence (hs_client_t *self, int64_t now)
{
    size_t brokers = hs_bus_brokers (self->bus);
    if (brokers < 2) return;
    uint64_t moves = hs_bus_moves (self->bus);
    if (moves != self->seen_moves) { /* moved (for its link): count afresh */
        self->seen_moves = moves;
        self->silent_ns = now;
    }
    int64_t from = self->hb_ns > self->silent_ns ? self->hb_ns : self->silent_ns;
    int limit = self->silent_moves < brokers ? STORE_SILENT_MS : STORE_SILENT_MAX_MS;
    if (now - from < (int64_t)limit * MS) return;
    char why[64];
    snprintf (why, sizeof why, "no hb.store for %lld ms", (long long)((now - from) / MS));
    hs_bus_move (self->bus, why);
    self->silent_moves++;
    self->silence_moves++;
    self->seen_moves = hs_bus_moves (self->bus);
    self->silent_ns = now;
}

static void s_run_timers (hs_client_t *self)
{
    hs_bus_check (self->bus);
    /* Due at a fixed time, not "100 ms after whatever ran last", which a
     * busy loop would push back for ever. */
    self->check_due_ns = hs_mono_ns () + HS_BUS_CHECK_MS * MS;
    uint64_t links = hs_bus_links (self->bus);
    if (links != self->links) {
        self->links = links;
        s_pending_resend_all (self, "subscribed through another broker");
    }
    int64_t now = hs_mono_ns ();
    s_store_silence (self, now);
    s_pending_timers (self, now);
    s_snap_timers (self, now);
    if (self->depth == 0) s_watch_timers (self, now);
}

/* The next time a timer that may run at this depth is due; -1: none. */
static int64_t s_next_due (hs_client_t *self)
{
    int64_t due = -1;
#define S_CONSIDER(t)                                                                              \
    do {                                                                                           \
        int64_t _t = (t);                                                                          \
        if (due < 0 || _t < due) due = _t;                                                         \
    } while (0)
    if (self->heap.n) S_CONSIDER (self->heap.items[0]->due_ns);
    if (hs_bus_brokers (self->bus) > 1) S_CONSIDER (self->check_due_ns);
    for (s_snap_t *s = self->snaps; s; s = s->next) {
        if (s->done) continue;
        S_CONSIDER (s->stall_ns);
        if (s->deadline_ns) S_CONSIDER (s->deadline_ns);
    }
    if (self->depth == 0) {
        for (size_t i = 0; i < self->n_watches; i++) {
            hs_watch_t *w = self->watches[i];
            if (w->state == W_FENCE) {
                S_CONSIDER (w->due_ns);
                S_CONSIDER (w->fence_start_ns + FENCE_GIVEUP_MS * MS);
            } else if (w->state == W_RESYNC_WAIT) {
                S_CONSIDER (w->due_ns);
            } else if (w->state == W_LIVE) {
                S_CONSIDER (s_watch_silent_due (w));
            }
        }
    }
#undef S_CONSIDER
    return due;
}

static int s_pump_batched (hs_client_t *self, int timeout_ms);

/* hs_client_process without the re-entrancy check (see the file banner).
 * What the callbacks publish goes out in one bus batch per pass (a
 * component answering many messages sends one bus message, not many), and
 * before any wait (hs_bus_wait sends it), since the wait may be for an
 * answer to it. */
static int s_pump (hs_client_t *self, int timeout_ms)
{
    /* Nested (a sync call from a callback): what the outer pass batched,
     * the call's command included, goes now. Otherwise nothing is pending. */
    hs_bus_batch_flush (self->bus);
    hs_bus_batch_begin (self->bus);
    int r = s_pump_batched (self, timeout_ms);
    hs_bus_batch_end (self->bus);
    return r;
}

static int s_pump_batched (hs_client_t *self, int timeout_ms)
{
    int64_t deadline = timeout_ms > 0 ? hs_mono_ns () + (int64_t)timeout_ms * MS : 0;
    int handled = 0;
    for (;;) {
        s_run_timers (self);
        if (self->depth == 0) {
            while (self->defer_head && handled < DRAIN_BATCH) {
                s_deferred_t *d = self->defer_head;
                self->defer_head = d->next;
                if (!self->defer_head) self->defer_tail = NULL;
                self->n_defer--;
                char *topic = d->topic;
                Hs__Envelope *env = d->env;
                char *peer = d->peer;
                free (d);
                s_dispatch (self, topic, env, peer);
                free (peer);
                handled++;
            }
        }
        while (handled < DRAIN_BATCH) {
            char *topic;
            Hs__Envelope *env;
            int r = hs_bus_recv (self->bus, &topic, &env, 0);
            if (r == -EAGAIN) break;
            if (r < 0) return handled ? handled : r;
            /* copied: a handler's synchronous call receives again */
            const char *stamp = hs_bus_peer_identity (self->bus);
            char *peer = stamp ? hs_strdup (stamp) : NULL;
            s_dispatch (self, topic, env, peer);
            free (peer);
            handled++;
        }
        if (handled) {
            s_run_timers (self);
            return handled;
        }
        int64_t now = hs_mono_ns ();
        if (timeout_ms == 0 || (timeout_ms > 0 && now >= deadline)) return 0;
        int64_t until = timeout_ms > 0 ? deadline : -1;
        int64_t due = s_next_due (self);
        if (due >= 0 && (until < 0 || due < until)) until = due;
        long wait = -1;
        if (until >= 0) {
            int64_t left = until - now;
            wait = left <= 0 ? 0 : (long)((left + MS - 1) / MS);
            if (wait > INT_MAX) wait = INT_MAX;
        }
        int r = hs_bus_wait (self->bus, (int)wait); /* flushes the batch first */
        if (r < 0 && r != -EAGAIN) return r;
    }
}

int hs_client_process (hs_client_t *self, int timeout_ms)
{
    if (self->depth > 0) return -EDEADLK;
    return s_pump (self, timeout_ms);
}

int hs_client_timeout_ms (hs_client_t *self)
{
    if (hs_bus_pending (self->bus) || (self->depth == 0 && self->defer_head)) return 0;
    int64_t due = s_next_due (self);
    if (due < 0) return -1;
    int64_t left = due - hs_mono_ns ();
    if (left <= 0) return 0;
    left = (left + MS - 1) / MS;
    return left > INT_MAX ? INT_MAX : (int)left;
}

/* ------------------------------------------------------------------ on a loop */

static void s_attached_process (void *arg)
{
    hs_client_t *self = arg;
    int r = hs_client_process (self, 0);
    if (r < 0 && r != -EINTR) {
        log_error ("the bus failed: %s", strerror (-r));
        hs_loop_exit (self->loop, 1);
    }
}

/* Work queued outside the socket: what a join or a nested call read. */
static bool s_attached_pending (void *arg)
{
    hs_client_t *self = arg;
    return self->depth == 0 && (hs_bus_pending (self->bus) || self->defer_head);
}

/* After anything ran, the next timer (a retry, a snapshot stall, a
 * resync's grace) may have moved. */
static void s_attached_rearm (void *arg)
{
    hs_client_t *self = arg;
    int64_t due = s_next_due (self);
    hs_loop_timer_set (self->timer, due < 0 ? HS_NEVER : due);
}

int hs_client_attach (hs_client_t *self, hs_loop_t *loop)
{
    if (self->loop) return -EBUSY;
    self->zsock = hs_loop_zsock (loop, hs_bus_sub_socket (self->bus), s_attached_process,
                                 s_attached_pending, self);
    if (!self->zsock) return -EIO;
    self->loop = loop;
    self->timer = hs_loop_timer (loop, HS_NEVER, s_attached_process, self);
    self->post = hs_loop_post_last (loop, s_attached_rearm, self);
    s_attached_rearm (self);
    return 0;
}

hs_loop_t *hs_client_loop (hs_client_t *self)
{
    return self->loop;
}

void *hs_client_socket (hs_client_t *self)
{
    return hs_bus_sub_socket (self->bus);
}

/* ------------------------------------------------------------------ client */

/* A client around a connected bus (taken): subscribes and joins. */
/* join_timeout_ms INT_MIN: no join (hs_client_new_cred_nojoin). */
static int s_client_new (hs_bus_t *bus, int join_timeout_ms, hs_client_t **ret_client)
{
    int r;
    hs_client_t *self = hs_calloc (1, sizeof *self);
    self->bus = bus;
    self->last_rid = (uint64_t)hs_now_ns (); /* see s_next_rid */
    self->replicated = -1;
    self->silent_ns = hs_mono_ns ();
    const char *id = hs_bus_instance (bus);
    self->ack_topic = hs_topic_to ("ack", id);
    self->snap_topic = hs_topic_to ("snap", id);
    self->echo_prefix = hs_topic_to ("echo", id); /* watches' fences: echo.<id>/<nonce> */
    /* hb.store too, watch or not: a new store epoch or leader resends the
     * unacked commands at once (s_on_store_heartbeat). */
    if ((r = hs_bus_subscribe (bus, self->ack_topic)) < 0 ||
        (r = hs_bus_subscribe (bus, self->snap_topic)) < 0 ||
        (r = hs_bus_subscribe (bus, "hb.store")) < 0 ||
        (join_timeout_ms != INT_MIN &&
         (r = hs_bus_join (bus, join_timeout_ms > 0    ? join_timeout_ms
                                : join_timeout_ms == 0 ? JOIN_TIMEOUT_MS
                                                       : INT_MAX)) < 0)) {
        hs_client_destroy (&self);
        return r;
    }
    *ret_client = self;
    return 0;
}

int hs_client_new (const char *bus_addr, const char *component, const char *instance,
                   int join_timeout_ms, hs_client_t **ret_client)
{
    hs_bus_t *bus = NULL;
    int r = hs_bus_connect (bus_addr, component, instance, &bus);
    if (r < 0) return r;
    return s_client_new (bus, join_timeout_ms, ret_client);
}

int hs_client_new_cred (const char *bus_addr, const char *component, const char *instance,
                        int join_timeout_ms, const hs_cred_t *cred, hs_client_t **ret)
{
    hs_bus_t *bus = NULL;
    int r = hs_bus_connect_cred (bus_addr, component, instance, cred, &bus);
    if (r < 0) return r;
    return s_client_new (bus, join_timeout_ms, ret);
}

int hs_client_new_cred_nojoin (const char *bus_addr, const char *component, const char *instance,
                               const hs_cred_t *cred, hs_client_t **ret)
{
    hs_bus_t *bus = NULL;
    int r = hs_bus_connect_cred (bus_addr, component, instance, cred, &bus);
    if (r < 0) return r;
    return s_client_new (bus, INT_MIN, ret);
}

void hs_client_destroy (hs_client_t **self_p)
{
    hs_client_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->pending.cap; i++)
        if (self->pending.slots[i].key) {
            s_pending_t *p = self->pending.slots[i].val;
            if (p->free_arg) p->free_arg (p->arg);
            s_pending_free (p);
        }
    s_map_clear (&self->pending, NULL);
    free (self->heap.items);
    while (self->snaps) s_snap_free (self, self->snaps);
    for (size_t i = 0; i < self->n_watches; i++) s_watch_free (self->watches[i]);
    free (self->watches);
    for (size_t i = 0; i < self->n_handlers; i++) free (self->handlers[i].prefix);
    free (self->handlers);
    while (self->defer_head) {
        s_deferred_t *d = self->defer_head;
        self->defer_head = d->next;
        free (d->topic);
        hs_pb_free (d->env);
        free (d->peer);
        free (d);
    }
    hs_loop_zsock_free (&self->zsock);
    hs_loop_timer_free (&self->timer);
    hs_loop_post_free (&self->post);
    hs_bus_destroy (&self->bus);
    free (self->ack_topic);
    free (self->snap_topic);
    free (self->echo_prefix);
    free (self->store_sender);
    free (self->cluster_id);
    free (self);
    *self_p = NULL;
}

hs_bus_t *hs_client_bus (hs_client_t *self)
{
    return self->bus;
}

const char *hs_client_peer_identity (hs_client_t *self)
{
    return self->peer;
}

const char *hs_client_id (hs_client_t *self)
{
    return hs_bus_instance (self->bus);
}

int hs_client_on (hs_client_t *self, const char *prefix, hs_msg_fn *fn, void *arg)
{
    if (!prefix || !fn) return -EINVAL;
    int r = hs_bus_subscribe (self->bus, prefix);
    if (r < 0) return r;
    self->handlers = hs_realloc (self->handlers, (self->n_handlers + 1) * sizeof *self->handlers);
    self->handlers[self->n_handlers++] = (s_handler_t){hs_strdup (prefix), fn, arg};
    return 0;
}

/* ------------------------------------------------------------------ calls (public) */

int hs_client_send (hs_client_t *self, Hs__Write *const *writes, size_t n,
                    const hs_call_opts_t *opts, hs_ack_fn *fn, void *arg)
{
    if (!writes || n == 0) return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!writes[i]) return -EINVAL;
    s_pending_t *p = s_pending_new (self, writes, n, opts);
    p->fn = fn;
    p->arg = arg;
    p->free_arg = opts ? opts->free_arg : NULL;
    int r = s_pending_start (self, p);
    if (r < 0) s_pending_free (p); /* arg stays the caller's */
    return r;
}

int hs_client_call (hs_client_t *self, Hs__Write *const *writes, size_t n,
                    const hs_call_opts_t *opts, Hs__Ack **ret_ack)
{
    if (!writes || n == 0 || !ret_ack) return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!writes[i]) return -EINVAL;
    s_pending_t *p = s_pending_new (self, writes, n, opts);
    p->sync = true;
    int r = s_pending_start (self, p);
    if (r < 0) {
        s_pending_free (p);
        return r;
    }
    while (!p->done) {
        int64_t left = (p->deadline_ns - hs_mono_ns () + MS - 1) / MS;
        r = s_pump (self, left > 0 ? (int)left : 1);
        if (r < 0 && r != -EAGAIN) {
            s_map_del (&self->pending, p->rid);
            s_heap_remove (&self->heap, p);
            s_pending_free (p);
            return r;
        }
    }
    r = p->err;
    if (r == 0) {
        *ret_ack = p->ack;
        p->ack = NULL;
    }
    s_pending_free (p);
    return r;
}

uint64_t hs_client_resends (hs_client_t *self)
{
    return self->resends;
}

uint64_t hs_client_silence_moves (hs_client_t *self)
{
    return self->silence_moves;
}

size_t hs_client_inflight (hs_client_t *self)
{
    return self->pending.n;
}

int hs_client_snapshot (hs_client_t *self, const hs_kind_t *kinds, size_t n_kinds,
                        const char *pod_node, int timeout_ms, hs_db_snapshot_t *ret_snap)
{
    if (!kinds) n_kinds = 0;
    for (size_t i = 0; i < n_kinds; i++)
        if (!hs_kind_info (kinds[i])) return -EINVAL;
    s_snap_t *s = s_snap_new (self, NULL, kinds, n_kinds, pod_node,
                              timeout_ms > 0 ? timeout_ms : CALL_TIMEOUT_MS);
    int r = 0;
    while (!s->done) {
        int64_t left = (s->deadline_ns - hs_mono_ns () + MS - 1) / MS;
        r = s_pump (self, left > 0 ? (int)left : 1);
        if (r < 0 && r != -EAGAIN) break;
        r = 0;
    }
    if (r == 0) r = s->err;
    if (r == 0) {
        *ret_snap = s->acc;
        s->acc = (hs_db_snapshot_t){0};
    }
    s_snap_free (self, s);
    return r;
}
