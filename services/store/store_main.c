/*  store_main.c: hs-store's wiring: flags, the bus, the event loop.
 *
 *  On the daemon loop (hs_loop.h): when commands are queued it
 *  takes them (up to STORE_BATCH_MAX), applies them and makes them durable in
 *  the write-ahead log (store_apply: group commit), then publishes the
 *  events in commit order, then the acks, then checkpoints (commits LMDB)
 *  and serves the snapshot requests that came with them. It also
 *  checkpoints when the window is due (store_checkpoint_due) and as soon as
 *  no command has arrived for IDLE_MS. hb.store goes out every
 *  HB_INTERVAL_MS, with the counters, gauges and latency histograms of
 *  docs/protocol.md §8 (ack_duration_seconds: from a command taken off the
 *  bus to its ack handed to it, replays of a remembered request included).
 */
#include "store.h"
#include "store_batch.h"
#include "store_join.h"
#include "hs_bus.h"
#include "hs_daemon.h"
#include "hs_lock.h"
#include "hs_log.h"
#include "hs_net.h"
#include "hs_notify.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define HB_INTERVAL_MS 200
/* No command for this long: checkpoint. Not less: the clients take a few
 * ms to turn their acks into new commands; with 1 ms the store checkpointed
 * after most batches (docs/architecture.md §4) and lost the point. */
#define IDLE_MS         5
#define JOIN_TIMEOUT_MS 30000
#define EVENT_SWEEP_MS  10000 /* expired Events are looked for this often */
#define EVENT_SWEEP_MAX 500   /* and deleted this many at a time */

typedef struct {
    /* flags */
    const char *bus_addr, *data, *instance_flag;
    int lock_fd; /* the data dir's lock (hs_lock.h): one store per data dir */
    store_opts_t opts;
    hs_net_conf_t net; /* --cluster-cidr, --node-cidr-mask-size, --service-cidr */
    int64_t event_ttl_ns;
    bool rewrite_only; /* --rewrite-secrets: open (which rewrites), report, exit */
    /* running */
    store_t *store;
    hs_bus_t *bus;
    const char *instance;
    int64_t started_at_ns;
    hs_loop_t *loop;
    hs_loop_zsock_t *commands;
    hs_loop_timer_t *hb, *sweep, *idle;
    /* metrics (docs/protocol.md §8) */
    hs_hist_t *ack_hist;
    uint64_t acks[HS__CODE__CODE_INTERNAL + 1]; /* by Code; the last one also counts unknowns */
    uint64_t batches, batches_full, snapshots_served;
    size_t queue_max; /* the most commands one batch drained since the last heartbeat */
    /* one batch */
    store_batch_t *batch;
    store_out_t out;
    hs_pb_arena_t *arena; /* one batch's messages (s_batch) */
} self_t;

static void s_usage (FILE *f)
{
    fprintf (
        f, "usage: hs-store --data DIR [--bus ADDR] [--no-sync] [--instance NAME]\n"
           "                [--request-ttl SECONDS] [--event-ttl SECONDS]\n"
           "                [--cluster-cidr CIDR] [--node-cidr-mask-size N] [--service-cidr CIDR]\n"
           "                [--encryption-key FILE] [--rewrite-secrets]\n"
           "  --data DIR            LMDB directory (created if missing)\n"
           "  --bus ADDR            the bus (default $HS_BUS, else " HS_BUS_DEFAULT ")\n"
           "  --no-sync             never fsync: neither the write-ahead log nor LMDB's\n"
           "                        commits (faster; acked writes can be lost)\n"
           "  --instance NAME       instance name on the bus (default: random)\n"
           "  --request-ttl SECONDS how long request ids are remembered (default 600)\n"
           "  --event-ttl SECONDS   Events not repeated for this long are deleted\n"
           "                        (default 3600, as Kubernetes)\n"
           "  --cluster-cidr CIDR   pods' addresses: each Node created without\n"
           "                        spec.podCIDR gets the next free slice "
           "(default " HS_NET_CLUSTER_CIDR ")\n"
           "  --node-cidr-mask-size N  the prefix length of a Node's slice (default 24)\n"
           "  --service-cidr CIDR   Services' clusterIPs (default " HS_NET_SERVICE_CIDR ")\n"
           "  --encryption-key FILE the keys Secrets are encrypted with at rest: one\n"
           "                        NAME BASE64 a line, the first encrypts, all decrypt\n"
           "                        (default DIR/encryption.key, created 0600 on first start)\n"
           "  --rewrite-secrets     encrypt every Secret with the file's first key, then\n"
           "                        exit (every start does it too): an older key can then\n"
           "                        be removed from the file\n");
}

/* ------------------------------------------------------------------ publishing */

static void s_publish (self_t *self, const char *topic, Hs__Envelope *env)
{
    int r = hs_bus_publish (self->bus, topic, env);
    hs_pb_take_str (&env->sender, NULL); /* publish set a heap copy */
    if (r < 0)
        hs_log_once (HS_LOG_WARN, "store:publish",
                     "cannot publish on %s: %s (further failures not "
                     "logged)",
                     topic, strerror (-r));
}

static void s_publish_body (self_t *self, const char *topic, unsigned field,
                            const struct iovec *parts, size_t n)
{
    int r = hs_bus_publish_body (self->bus, topic, field, parts, n);
    if (r < 0)
        hs_log_once (HS_LOG_WARN, "store:publish",
                     "cannot publish on %s: %s (further failures not "
                     "logged)",
                     topic, strerror (-r));
}

/* The events and acks go out as the bytes store_apply packed (the object
 * once, for LMDB and the event alike). A WatchEvent is packed without its
 * object, then the object's field (7, the last one, so the frame is
 * byte-for-byte what packing the whole event gives) is appended. */
static void s_publish_out (self_t *self)
{
    store_out_t *out = &self->out;
    hs_bus_batch_begin (self->bus);
    for (size_t i = 0; i < out->n_events; i++) {
        const store_event_t *e = &out->events[i];
        Hs__WatchEvent head = *e->event;
        head.object = NULL;
        uint8_t buf[512];
        size_t hlen = protobuf_c_message_get_packed_size (&head.base);
        uint8_t *hbuf = hlen + 11 <= sizeof buf ? buf : hs_malloc (hlen + 11);
        protobuf_c_message_pack (&head.base, hbuf);
        if (e->event->object) {
            hbuf[hlen++] = 7 << 3 | 2;
            hlen += hs_pb_varint (hbuf + hlen, e->obj_len);
        }
        struct iovec parts[2] = {{hbuf, hlen}, {out->bytes + e->obj_off, e->obj_len}};
        s_publish_body (self, e->topic, HS__ENVELOPE__BODY_EVENT, parts, 2);
        if (hbuf != buf) free (hbuf);
    }
    for (size_t i = 0; i < out->n_acks; i++) {
        const store_ack_t *a = &out->acks[i];
        struct iovec part = {out->bytes + a->off, a->len};
        s_publish_body (self, a->topic, HS__ENVELOPE__BODY_ACK, &part, 1);
    }
    int r = hs_bus_batch_end (self->bus);
    if (r < 0)
        hs_log_once (HS_LOG_WARN, "store:publish", "cannot publish a batch: %s", strerror (-r));
    /* One clock read for the batch: its acks left together. */
    int64_t now = out->n_acks ? hs_mono_ns () : 0;
    for (size_t i = 0; i < out->n_acks; i++) {
        const store_ack_t *a = &out->acks[i];
        if (a->received_ns) hs_hist_observe (self->ack_hist, now - a->received_ns);
        unsigned code = (unsigned)a->ack->code;
        self->acks[code < HS_ARRAY_LEN (self->acks) ? code : HS_ARRAY_LEN (self->acks) - 1]++;
    }
}

static void s_send_chunk (self_t *self, const char *topic, Hs__SnapshotChunk *chunk)
{
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_SNAPSHOT_CHUNK;
    env.snapshot_chunk = chunk;
    s_publish (self, topic, &env);
}

static void s_serve_snapshot (self_t *self, const Hs__SnapshotRequest *req, const char *identity)
{
    store_snap_answer_t a;
    if (store_snapshot_answer_as (self->store, req, identity, &a) < 0) return;
    for (size_t i = 0; i < a.n; i++) s_send_chunk (self, a.topic, a.chunks[i]);
    store_snap_answer_free (&a);
}

static void s_heartbeat (self_t *self)
{
    Hs__StoreHeartbeat *hb = hs_pb_new (&hs__store_heartbeat__descriptor);
    if (store_heartbeat (self->store, hb) < 0) {
        hs_pb_free (hb);
        return;
    }
    hb->garbage += hs_bus_garbage (self->bus);
    hb->started_at_ns = self->started_at_ns;
    hs_pb_set_str (&hb->instance, self->instance);
    /* The metrics point at this frame's storage (hs_metric.h): taken out
     * again before hb is freed. */
    const char *cn[] = {
        "checkpoints",   "batches",        "batches_full",     "snapshots_served",
        "acks_ok",       "acks_invalid",   "acks_not_found",   "acks_already_exists",
        "acks_conflict", "acks_forbidden", "acks_unavailable", "acks_internal"};
    uint64_t cv[HS_ARRAY_LEN (cn)] = {store_checkpoints (self->store), self->batches,
                                      self->batches_full, self->snapshots_served};
    for (size_t i = 0; i < HS_ARRAY_LEN (self->acks); i++) cv[4 + i] = self->acks[i];
    Hs__Counter cs[HS_ARRAY_LEN (cn)], *cp[HS_ARRAY_LEN (cn)];
    hs_metric_counters (&hb->counters, &hb->n_counters, cs, cp, cn, cv, HS_ARRAY_LEN (cn));
    const char *gn[] = {"queue_depth"};
    const double gv[] = {(double)self->queue_max};
    self->queue_max = 0;
    Hs__Gauge gs[1], *gp[1];
    hs_metric_gauges (&hb->gauges, &hb->n_gauges, gs, gp, gn, gv, 1);
    hs_hist_t *hists[] = {self->ack_hist, store_fsync_hist (self->store),
                          store_wal_hist (self->store)};
    hs_hist_pb_t hroom[HS_ARRAY_LEN (hists)];
    Hs__Histogram *hp[HS_ARRAY_LEN (hists)];
    hs_metric_histograms (&hb->histograms, &hb->n_histograms, hroom, hp, hists,
                          HS_ARRAY_LEN (hists));
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_STORE_HEARTBEAT;
    env.store_heartbeat = hb;
    s_publish (self, "hb.store", &env);
    hb->counters = NULL;
    hb->n_counters = 0;
    hb->gauges = NULL;
    hb->n_gauges = 0;
    hb->histograms = NULL;
    hb->n_histograms = 0;
    hs_pb_free (hb);
}

/* ------------------------------------------------------------------ the batch */

/* Deletes Events nobody repeated within --event-ttl, through the same path
 * as any command: logged, committed, published. */
static void s_sweep_events (self_t *self)
{
    Hs__Command *cmd =
        store_expired_events (self->store, hs_now_ns () - self->event_ttl_ns, EVENT_SWEEP_MAX);
    if (!cmd) return;
    size_t n = cmd->n_writes;
    int r = store_apply (self->store, &cmd, 1, &self->out);
    if (r < 0)
        log_warn ("could not delete %zu expired Events: %s", n, strerror (-r));
    else
        log_debug ("deleted %zu expired Events", n);
    s_publish_out (self);
    store_out_reset (&self->out);
    hs_pb_free (cmd);
}

static void s_checkpoint (self_t *self)
{
    int r = store_checkpoint (self->store);
    if (r < 0)
        hs_log_once (HS_LOG_ERROR, "store:checkpoint",
                     "cannot checkpoint: %s; acked writes stay in the write-ahead log (further "
                     "failures not logged)",
                     strerror (-r));
}

static void s_batch (self_t *self)
{
    /* Every message of the batch, from the commands received to the acks
     * and events published, comes from the arena and goes at once when
     * the batch ends: malloc and free of the tens of small pieces of each
     * object were a large share of the store's CPU (hs_pb.h). */
    hs_pb_arena_enter (self->arena);
    while (!store_batch_full (self->batch)) {
        char *topic;
        Hs__Envelope *env;
        size_t size;
        /* Oversized envelopes on cmd.* come through, to be answered. */
        int r = hs_bus_recv_sized (self->bus, "cmd.", &topic, &env, &size, 0);
        if (r < 0) break; /* -EAGAIN: drained */
        /* A join token's one command never reaches the batch (store_join.h). */
        if (store_join_take (self->bus, topic, env)) continue;
        /* Who sent it, as hs-bus stamped it: what the store authorizes
         * (store_authz.h), never Envelope.sender. */
        const char *identity = hs_bus_peer_identity (self->bus);
        if (!identity)
            hs_log_once (HS_LOG_WARN, "store:insecure",
                         "commands arrive without an identity (the bus runs insecure): every "
                         "write is allowed, unauthenticated");
        store_batch_take_as (self->batch, topic, env, size, identity);
    }
    size_t n_cmds = store_batch_n_commands (self->batch);
    if (n_cmds > self->queue_max) self->queue_max = n_cmds;
    if (n_cmds) self->batches++;
    if (store_batch_full (self->batch)) self->batches_full++;
    if (store_batch_apply (self->batch, &self->out)) {
        s_publish_out (self);
        store_out_reset (&self->out);
    }
    /* A snapshot reads committed LMDB state, which must hold every acked
     * write: checkpoint first. A due checkpoint also waits for the acks
     * above: they are durable already, in the log. */
    size_t n_snaps = store_batch_n_snapshots (self->batch);
    if (n_snaps > 0 || store_checkpoint_due (self->store, hs_mono_ns (), false))
        s_checkpoint (self);
    for (size_t i = 0; i < n_snaps; i++)
        s_serve_snapshot (self, store_batch_snapshot (self->batch, i),
                          store_batch_snapshot_identity (self->batch, i));
    self->snapshots_served += n_snaps;
    store_batch_end (self->batch);
    hs_pb_arena_leave (self->arena);
}

/* ------------------------------------------------------------------ the loop */

/* With a window open, checkpoint once nothing was written for IDLE_MS, so
 * local readers of the LMDB file (the client library's local snapshots)
 * are not left behind, or at the window's deadline, whichever is first. */
static void s_arm_idle (self_t *self)
{
    int64_t at = HS_NEVER;
    if (store_checkpoint_due (self->store, hs_mono_ns (), true)) {
        at = hs_mono_ns () + IDLE_MS * 1000000LL;
        int64_t deadline = store_checkpoint_deadline (self->store);
        if (deadline < at) at = deadline;
    }
    hs_loop_timer_set (self->idle, at);
}

/* Commands are queued: take a batch. */
static void s_on_commands (void *arg)
{
    self_t *self = arg;
    s_batch (self);
    s_arm_idle (self);
}

static void s_on_idle (void *arg)
{
    self_t *self = arg;
    if (store_checkpoint_due (self->store, hs_mono_ns (), true)) s_checkpoint (self);
}

static void s_on_heartbeat (void *arg)
{
    self_t *self = arg;
    s_heartbeat (self);
    hs_loop_timer_set (self->hb, hs_mono_ns () + HB_INTERVAL_MS * 1000000LL);
}

static void s_on_sweep (void *arg)
{
    self_t *self = arg;
    s_sweep_events (self);
    s_arm_idle (self);
    hs_loop_timer_set (self->sweep, hs_mono_ns () + EVENT_SWEEP_MS * 1000000LL);
}

static bool s_pending (void *arg)
{
    self_t *self = arg;
    return hs_bus_pending (self->bus);
}

/* ------------------------------------------------------------------ the daemon */

static int s_flag (void *arg, int ch, const char *value)
{
    self_t *self = arg;
    switch (ch) {
    case 'b': self->bus_addr = value; return 0;
    case 'd': self->data = value; return 0;
    case 'n': self->opts.nosync = true; return 0;
    case 'i': self->instance_flag = value; return 0;
    case 'K': self->opts.encryption_key = value; return 0;
    case 'R': self->rewrite_only = true; return 0;
    case 't':
    case 'E': {
        const char *flag = ch == 't' ? "--request-ttl" : "--event-ttl";
        int64_t secs;
        if (hs_daemon_int ("hs-store", flag, value, 1, 365LL * 86400, &secs) < 0) return -1;
        *(ch == 't' ? &self->opts.request_ttl_ns : &self->event_ttl_ns) = secs * 1000000000LL;
        return 0;
    }
    case 'C':
    case 'M':
    case 'S': {
        const char *flag = ch == 'C'   ? "cluster-cidr"
                           : ch == 'M' ? "node-cidr-mask-size"
                                       : "service-cidr";
        const char *why = NULL;
        if (hs_net_flag (&self->net, flag, value, &why) < 0) {
            fprintf (stderr, "hs-store: --%s %s: %s\n", flag, value, why);
            return -1;
        }
        return 0;
    }
    default: return -1;
    }
}

static int s_check (void *arg, int argc, char **argv)
{
    self_t *self = arg;
    if (argc > 0) {
        fprintf (stderr, "hs-store: unexpected argument: %s\n", argv[0]);
        return -1;
    }
    if (hs_empty (self->data)) {
        fprintf (stderr, "hs-store: --data DIR is required\n");
        s_usage (stderr);
        return -1;
    }
    const char *why = NULL;
    if (hs_net_conf_check (&self->net, &why) < 0) {
        fprintf (stderr, "hs-store: %s\n", why);
        return -1;
    }
    self->opts.net = &self->net;
    return 0;
}

static int s_setup (void *arg, hs_loop_t *loop)
{
    self_t *self = arg;
    self->loop = loop;
    self->arena = hs_pb_arena_new ();
    self->ack_hist = hs_hist_new ("ack_duration_seconds", NULL, 0);
    self->started_at_ns = hs_now_ns ();
    /* Before the store is opened: a second store on this directory would
     * commit into the same LMDB and WAL and answer the same commands. */
    int r = hs_mkdir_p (self->data, 0755);
    pid_t holder = 0;
    if (r == 0) r = hs_lock_dir (self->data, &self->lock_fd, &holder);
    if (r == -EBUSY) {
        char who[32];
        log_error ("the data dir %s is held by another hs-store (%s); stop it first, or run this "
                   "one with another --data",
                   self->data, hs_lock_who (holder, who, sizeof who));
        return 1;
    }
    if (r < 0) {
        log_error ("cannot lock the data dir %s: %s", self->data, strerror (-r));
        return 1;
    }
    _cleanup_free_ char *why = NULL;
    self->opts.ret_error = &why;
    r = store_open (self->data, &self->opts, &self->store);
    self->opts.ret_error = NULL;
    if (r < 0) {
        if (why)
            log_error ("%s", why); /* one line naming the key file */
        else
            log_error ("cannot open the store at %s: %s", self->data, strerror (-r));
        return 1;
    }
    if (self->rewrite_only) {
        log_info ("every Secret is encrypted with key \"%s\" of %s (%llu encrypted anew): "
                  "the file's other keys can be removed",
                  store_key_primary (self->store), store_key_file (self->store),
                  (unsigned long long)store_secrets_rewritten (self->store));
        hs_loop_exit (loop, 0);
        return 0;
    }
    _cleanup_free_ char *cc = hs_cidr_format (&self->net.cluster);
    _cleanup_free_ char *sc = hs_cidr_format (&self->net.service);
    log_info ("store at %s: epoch %016llx, revision %lld%s; podCIDRs /%d from %s, clusterIPs "
              "from %s",
              self->data, (unsigned long long)store_epoch (self->store),
              (long long)store_revision (self->store),
              self->opts.nosync ? " (no-sync: commits are not durable)" : "", self->net.node_mask,
              cc, sc);
    r = hs_bus_connect (self->bus_addr, "hs-store", self->instance_flag, &self->bus);
    if (r < 0) {
        log_error ("cannot connect to the bus at %s: %s",
                   hs_s (self->bus_addr ? self->bus_addr : getenv ("HS_BUS")), strerror (-r));
        return 1;
    }
    self->instance = hs_bus_instance (self->bus);
    hs_bus_subscribe (self->bus, "cmd.");
    r = hs_bus_join (self->bus, JOIN_TIMEOUT_MS);
    if (r < 0) {
        log_error ("cannot join the bus: %s", strerror (-r));
        return 1;
    }
    self->batch = store_batch_new (self->store);
    self->commands =
        hs_loop_zsock (loop, hs_bus_sub_socket (self->bus), s_on_commands, s_pending, self);
    if (!self->commands) return 1;
    self->idle = hs_loop_timer (loop, HS_NEVER, s_on_idle, self);
    self->hb = hs_loop_timer (loop, hs_mono_ns (), s_on_heartbeat, self);
    self->sweep = hs_loop_timer (loop, hs_mono_ns (), s_on_sweep, self);
    hs_notify_ready ("serving");
    log_info ("serving on the bus as %s", hs_bus_sender (self->bus));
    return 0;
}

static void s_teardown (void *arg)
{
    self_t *self = arg;
    hs_loop_zsock_free (&self->commands);
    hs_loop_timer_free (&self->idle);
    hs_loop_timer_free (&self->hb);
    hs_loop_timer_free (&self->sweep);
    store_out_clear (&self->out);
    store_batch_destroy (&self->batch);
    hs_bus_destroy (&self->bus);
    store_destroy (&self->store);
    hs_pb_arena_destroy (&self->arena);
    hs_hist_destroy (&self->ack_hist);
    if (self->lock_fd >= 0) close (self->lock_fd);
    self->lock_fd = -1;
}

static const struct option s_options[] = {
    {"bus", required_argument, NULL, 'b'},
    {"data", required_argument, NULL, 'd'},
    {"no-sync", no_argument, NULL, 'n'},
    {"instance", required_argument, NULL, 'i'},
    {"request-ttl", required_argument, NULL, 't'},
    {"event-ttl", required_argument, NULL, 'E'},
    {"cluster-cidr", required_argument, NULL, 'C'},
    {"node-cidr-mask-size", required_argument, NULL, 'M'},
    {"service-cidr", required_argument, NULL, 'S'},
    {"encryption-key", required_argument, NULL, 'K'},
    {"rewrite-secrets", no_argument, NULL, 'R'},
    {NULL, 0, NULL, 0},
};

static const hs_daemon_t s_daemon = {.name = "hs-store",
                                     .usage = s_usage,
                                     .options = s_options,
                                     .shortopts = "b:d:ni:t:",
                                     .flag = s_flag,
                                     .check = s_check,
                                     .setup = s_setup,
                                     .teardown = s_teardown};

int main (int argc, char **argv)
{
    /* No fastbins (as hs-scheduler): glibc consolidates every fastbin before
     * a large allocation or free (LMDB's commit, a snapshot, an outbox),
     * and with tens of thousands of small protobuf chunks freed per second
     * that showed in the store's profile (docs/architecture.md §4). */
    mallopt (M_MXFAST, 0);
    self_t self = {.lock_fd = -1, .event_ttl_ns = 3600LL * 1000000000LL};
    hs_net_conf_default (&self.net);
    return hs_daemon_main (&s_daemon, &self, argc, argv);
}
