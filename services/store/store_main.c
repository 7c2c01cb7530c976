/*  store_main.c: hs-store's wiring: flags, the bus, the event loop.
 *
 *  On the daemon loop (hs_loop.h): when commands are queued it
 *  takes them (up to BATCH_MAX), applies them and makes them durable in
 *  the write-ahead log (store_apply: group commit), then publishes the
 *  events in commit order, then the acks, then checkpoints (commits LMDB)
 *  and serves the snapshot requests that came with them. It also
 *  checkpoints when the window is due (store_checkpoint_due) and as soon as
 *  no command has arrived for IDLE_MS. hb.store goes out every
 *  HB_INTERVAL_MS.
 */
#include "store.h"
#include "hs_bus.h"
#include "hs_daemon.h"
#include "hs_lock.h"
#include "hs_log.h"
#include "hs_notify.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

/* Commands per group commit. Not more: the batch's clients wait through its
 * apply, fdatasync and publish, then take a while to send their next
 * commands; with every queued command in one batch (the cap was 8192), all
 * clients moved in one group and the store idled through their turnaround
 * (docs/architecture.md §4 has the figures). At most 128 splits them into groups
 * that overlap: one is applied while another turns around. 64 was worse:
 * more fdatasyncs. */
#define BATCH_MAX      128
#define SNAP_MAX       64 /* snapshot requests served per loop turn */
#define HB_INTERVAL_MS 200
/* No command for this long: checkpoint. Not less: the clients take a few
 * ms to turn their acks into new commands; with 1 ms the store checkpointed
 * after most batches (docs/architecture.md §4) and lost the point. */
#define IDLE_MS         5
#define JOIN_TIMEOUT_MS 30000
#define CHUNK_OBJECTS   500
#define CHUNK_BYTES     (1u << 20)
#define EVENT_SWEEP_MS  10000 /* expired Events are looked for this often */
#define EVENT_SWEEP_MAX 500   /* and deleted this many at a time */

typedef struct {
    /* flags */
    const char *bus_addr, *data, *instance_flag;
    int lock_fd; /* the data dir's lock (hs_lock.h): one store per data dir */
    store_opts_t opts;
    int64_t event_ttl_ns;
    /* running */
    store_t *store;
    hs_bus_t *bus;
    const char *instance;
    int64_t started_at_ns;
    hs_loop_t *loop;
    hs_loop_zsock_t *commands;
    hs_loop_timer_t *hb, *sweep, *idle;
    /* one batch */
    Hs__Envelope **envs;
    size_t n_envs;
    Hs__Command **cmds;
    size_t n_cmds;
    Hs__SnapshotRequest **snaps;
    size_t n_snaps;
    store_out_t out;
    hs_pb_arena_t *arena; /* one batch's messages (s_batch) */
    /* commands of the batch answered without applying (s_refuse) */
    struct {
        Hs__Command *cmd;
        Hs__Code code;
        char *msg;
    } refused[BATCH_MAX];
    size_t n_refused;
} self_t;

static void s_usage (FILE *f)
{
    fprintf (f, "usage: hs-store --data DIR [--bus ADDR] [--no-sync] [--instance NAME]\n"
                "                [--request-ttl SECONDS] [--event-ttl SECONDS]\n"
                "  --data DIR            LMDB directory (created if missing)\n"
                "  --bus ADDR            the bus (default $HS_BUS, else " HS_BUS_DEFAULT ")\n"
                "  --no-sync             never fsync: neither the write-ahead log nor LMDB's\n"
                "                        commits (faster; acked writes can be lost)\n"
                "  --instance NAME       instance name on the bus (default: random)\n"
                "  --request-ttl SECONDS how long request ids are remembered (default 600)\n"
                "  --event-ttl SECONDS   Events not repeated for this long are deleted\n"
                "                        (default 3600, as Kubernetes)\n");
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
}

static void s_send_chunk (self_t *self, const char *topic, Hs__SnapshotChunk *chunk)
{
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_SNAPSHOT_CHUNK;
    env.snapshot_chunk = chunk;
    s_publish (self, topic, &env);
}

static void s_serve_snapshot (self_t *self, const Hs__SnapshotRequest *req)
{
    if (hs_empty (req->client_id)) {
        store_count_garbage (self->store);
        hs_log_once (HS_LOG_WARN, "store:snap-no-client",
                     "refused a snapshot request without "
                     "client_id; counted as garbage, further ones not logged");
        return;
    }
    if (!hs_topic_id_ok (req->client_id)) {
        store_count_garbage (self->store);
        hs_log_once (HS_LOG_WARN, "store:snap-bad-client",
                     "refused a snapshot request whose client_id cannot name a topic; counted as "
                     "garbage, further ones not logged");
        return;
    }
    _cleanup_free_ char *topic = hs_topic_to ("snap", req->client_id);
    hs_kind_t kinds[HS_KIND__COUNT];
    size_t n_kinds = 0;
    Hs__SnapshotChunk err = HS__SNAPSHOT_CHUNK__INIT;
    char *msg = NULL;
    for (size_t i = 0; i < req->n_kinds && !msg; i++) {
        hs_kind_t k = hs_kind_parse (req->kinds[i]);
        if (k == HS_KIND_NONE)
            msg = hs_sprintf ("the server doesn't have a resource type \"%.100s\"", req->kinds[i]);
        else if (n_kinds < HS_ARRAY_LEN (kinds))
            kinds[n_kinds++] = k;
    }
    hs_db_snapshot_t snap;
    int r = msg ? -EINVAL
                : hs_db_snapshot (store_db (self->store), kinds, n_kinds, req->pod_node, &snap);
    if (r < 0) {
        if (!msg) msg = hs_sprintf ("cannot read the store: %s", strerror (-r));
        err.request_id = req->request_id;
        err.code = msg && r == -EINVAL ? HS__CODE__CODE_INVALID : HS__CODE__CODE_INTERNAL;
        err.message = msg;
        err.epoch = store_epoch (self->store);
        err.revision = store_revision (self->store);
        err.last = true;
        s_send_chunk (self, topic, &err);
        err.request_id = NULL;
        err.message = NULL;
        free (msg);
        return;
    }
    Hs__SnapshotChunk **chunks;
    size_t n;
    hs_db_snapshot_chunks (&snap, req->request_id, CHUNK_OBJECTS, CHUNK_BYTES, &chunks, &n);
    for (size_t i = 0; i < n; i++) s_send_chunk (self, topic, chunks[i]);
    hs_db_chunks_free (chunks, n);
    hs_db_snapshot_free (&snap);
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
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_STORE_HEARTBEAT;
    env.store_heartbeat = hb;
    s_publish (self, "hb.store", &env);
    hs_pb_free (hb);
}

/* ------------------------------------------------------------------ the batch */

/* Queues a command to be answered code/msg (taken) without applying it. */
static void s_refuse (self_t *self, Hs__Command *cmd, Hs__Code code, char *msg)
{
    self->refused[self->n_refused].cmd = cmd;
    self->refused[self->n_refused].code = code;
    self->refused[self->n_refused].msg = msg;
    self->n_refused++;
}

/* Sorts one received message into the batch: a Command on the topic its
 * writes name (hs_cmd_topic_check) is applied; one on another topic, or
 * over HS_BUS_MAX_MSG (hs_bus_recv_sized passes those on cmd.*), is
 * answered without applying; a SnapshotRequest on cmd.snapshot is served;
 * anything else is garbage. */
static void s_take (self_t *self, char *topic, Hs__Envelope *env, size_t size)
{
    bool ok = false;
    if (env->body_case == HS__ENVELOPE__BODY_COMMAND && hs_startswith (topic, "cmd.")) {
        Hs__Command *cmd = env->command;
        char *msg = NULL;
        ok = true;
        if (size > HS_BUS_MAX_MSG)
            s_refuse (self, cmd, HS__CODE__CODE_INVALID,
                      hs_sprintf ("Command: Too long: the envelope is %zu bytes: must be at most "
                                  "%d bytes (HS_BUS_MAX_MSG, 4 MiB); split it",
                                  size, HS_BUS_MAX_MSG));
        else if (hs_cmd_topic_check (topic, cmd->writes, cmd->n_writes, &msg) < 0)
            s_refuse (self, cmd, HS__CODE__CODE_FORBIDDEN, msg);
        else
            self->cmds[self->n_cmds++] = cmd;
    } else if (env->body_case == HS__ENVELOPE__BODY_SNAPSHOT_REQUEST &&
               strcmp (topic, HS_TOPIC_SNAPSHOT) == 0 && size <= HS_BUS_MAX_MSG &&
               self->n_snaps < SNAP_MAX) {
        self->snaps[self->n_snaps++] = env->snapshot_request;
        ok = true;
    }
    if (!ok) {
        store_count_garbage (self->store);
        char key[300];
        snprintf (key, sizeof key, "store:body:%.200s", env->sender);
        hs_log_once (HS_LOG_WARN, key,
                     "refused a message on %s from %s: not a command, or a snapshot request "
                     "not on " HS_TOPIC_SNAPSHOT "; counted as garbage, further ones not logged",
                     topic, env->sender);
        hs_pb_free (env);
    } else {
        self->envs[self->n_envs++] = env;
    }
    free (topic);
}

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
    while (self->n_envs < BATCH_MAX && self->n_snaps < SNAP_MAX) {
        char *topic;
        Hs__Envelope *env;
        size_t size;
        /* Oversized envelopes on cmd.* come through, to be answered. */
        int r = hs_bus_recv_sized (self->bus, "cmd.", &topic, &env, &size, 0);
        if (r < 0) break; /* -EAGAIN: drained */
        s_take (self, topic, env, size);
    }
    if (self->n_cmds > 0 || self->n_refused > 0) {
        if (self->n_cmds > 0) {
            int r = store_apply (self->store, self->cmds, self->n_cmds, &self->out);
            if (r < 0)
                log_error ("a batch of %zu commands did not commit: %s; answered Unavailable",
                           self->n_cmds, strerror (-r));
        }
        for (size_t i = 0; i < self->n_refused; i++) {
            store_refuse (self->store, &self->out, self->refused[i].cmd, self->refused[i].code,
                          self->refused[i].msg);
            free (self->refused[i].msg);
        }
        self->n_refused = 0;
        s_publish_out (self);
        store_out_reset (&self->out);
    }
    /* A snapshot reads committed LMDB state, which must hold every acked
     * write: checkpoint first. A due checkpoint also waits for the acks
     * above: they are durable already, in the log. */
    if (self->n_snaps > 0 || store_checkpoint_due (self->store, hs_mono_ns (), false))
        s_checkpoint (self);
    for (size_t i = 0; i < self->n_snaps; i++) s_serve_snapshot (self, self->snaps[i]);
    for (size_t i = 0; i < self->n_envs; i++) hs_pb_free (self->envs[i]);
    self->n_envs = self->n_cmds = self->n_snaps = 0;
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
    case 't':
    case 'E': {
        const char *flag = ch == 't' ? "--request-ttl" : "--event-ttl";
        int64_t secs;
        if (hs_daemon_int ("hs-store", flag, value, 1, 365LL * 86400, &secs) < 0) return -1;
        *(ch == 't' ? &self->opts.request_ttl_ns : &self->event_ttl_ns) = secs * 1000000000LL;
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
    return 0;
}

static int s_setup (void *arg, hs_loop_t *loop)
{
    self_t *self = arg;
    self->loop = loop;
    self->arena = hs_pb_arena_new ();
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
    r = store_open (self->data, &self->opts, &self->store);
    if (r < 0) {
        log_error ("cannot open the store at %s: %s", self->data, strerror (-r));
        return 1;
    }
    log_info ("store at %s: epoch %016llx, revision %lld%s", self->data,
              (unsigned long long)store_epoch (self->store),
              (long long)store_revision (self->store),
              self->opts.nosync ? " (no-sync: commits are not durable)" : "");
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
    self->envs = hs_calloc (BATCH_MAX + SNAP_MAX, sizeof *self->envs);
    self->cmds = hs_calloc (BATCH_MAX, sizeof *self->cmds);
    self->snaps = hs_calloc (SNAP_MAX, sizeof *self->snaps);
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
    free (self->envs);
    free (self->cmds);
    free (self->snaps);
    hs_bus_destroy (&self->bus);
    store_destroy (&self->store);
    hs_pb_arena_destroy (&self->arena);
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
    return hs_daemon_main (&s_daemon, &self, argc, argv);
}
