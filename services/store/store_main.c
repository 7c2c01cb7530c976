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
#include "store_authz.h"
#include "store_batch.h"
#include "store_join.h"
#include "store_raft.h"
#include "store_xport.h"
#include "hs_bus.h"
#include "hs_daemon.h"
#include "hs_lock.h"
#include "hs_log.h"
#include "hs_net.h"
#include "hs_notify.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <raft/uv.h>
#include <sys/epoll.h>
#include <uv.h>
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
/* The replicated store (--peers): see docs/architecture.md §4. */
#define RAFT_ELECTION_MS   300
#define RAFT_SNAP_THRESH   16384
#define RAFT_SNAP_TRAILING 4096
#define RAFT_SERVE_JOIN_MS 100 /* the round trip proving cmd. is subscribed, when elected */
#define MAX_PEERS          9

typedef struct {
    char *name, *address;
    raft_id id;
} peer_t;

typedef struct {
    /* flags */
    const char *bus_addr, *data, *instance_flag;
    int lock_fd; /* the data dir's lock (hs_lock.h): one store per data dir */
    store_opts_t opts;
    hs_net_conf_t net; /* --cluster-cidr, --node-cidr-mask-size, --service-cidr */
    int64_t event_ttl_ns;
    bool rewrite_only; /* --rewrite-secrets: open (which rewrites), report, exit */
    /* the replicated store: --member, --peers, --cluster-id, --raft-dir,
     * --election-timeout, --join, --raft-address */
    const char *member, *peers_flag, *cluster_flag, *raft_dir_flag, *raft_addr_flag;
    int64_t election_ms, snap_threshold, snap_trailing;
    bool join;
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
    /* the replicated store (ha): raft on an embedded libuv loop */
    bool ha;
    peer_t peers[MAX_PEERS + 16]; /* --peers, then members learned from MemberChange */
    size_t n_peers;
    char *cluster_id, *raft_dir, *raft_address;
    raft_id raft_id;
    uv_loop_t uv;
    struct raft_uv_transport transport; /* raft_uv_tcp */
    bool cluster_id_stored;             /* <data>/cluster-id existed at this start */
    struct raft_uv_transport xport;     /* over it: the cluster check (store_xport.h) */
    struct raft_io io;
    struct raft raft;
    bool uv_ok, transport_ok, io_ok, raft_ok, raft_closed;
    store_raft_t *sr;
    hs_loop_io_t *uv_io;
    hs_loop_timer_t *uv_timer;
    hs_loop_post_t *post;
    bool subscribed; /* cmd. (only while serving) */
    /* raft's TCP connections already given TCP_NODELAY (s_nodelay) */
    struct {
        const void *handle;
        int fd;
    } nodelay[32];
    size_t n_nodelay;
    uint64_t applied_seen;         /* store_applied_index at the last pump */
    struct raft_transfer handover; /* s_handover, at a clean stop */
    bool handover_done;
    /* membership changes under way, and the last ones answered (a client
     * resending the same request id gets the same answer, not a second
     * change) */
    struct s_mc *mcs;
    struct {
        char *client_id, *request_id, *msg;
        Hs__Code code;
    } mc_done[16];
    size_t mc_done_next;
    int ha_result;      /* the last store_raft_propose (s_ha_apply) */
    uint64_t disk_full; /* checkpoints that found the disk full */
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
           "                        be removed from the file\n"
           "replicated (raft; docs/architecture.md \"The replicated store\"):\n"
           "                [--member NAME --peers NAME=HOST:PORT,...] [--cluster-id TOKEN]\n"
           "                [--raft-dir DIR] [--election-timeout MS] [--join --raft-address "
           "HOST:PORT]\n"
           "  --member NAME         this member's name ([a-z0-9-]{1,32})\n"
           "  --peers LIST          the initial configuration, identical on every member;\n"
           "                        raft id = 1-based position (bootstraps a pristine raft dir)\n"
           "  --cluster-id TOKEN    default: derived from --peers; kept in DIR/cluster-id\n"
           "  --raft-dir DIR        raft's log and snapshots (default DATA/raft)\n"
           "  --election-timeout MS default 300 (heartbeat: a sixth of it)\n"
           "  --join                a member added later (hsctl member add): no bootstrap\n"
           "  --raft-address H:P    its raft address (--join; else from --peers)\n"
           "  --snapshot-threshold N  entries between raft snapshots (default 16384)\n"
           "  --snapshot-trailing N   entries kept behind a snapshot (default 4096)\n");
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
static void s_publish_out_of (self_t *self, store_out_t *out)
{
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

static void s_publish_out (self_t *self)
{
    s_publish_out_of (self, &self->out);
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

static void s_ha_heartbeat (self_t *self, Hs__StoreHeartbeat *hb);

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
        "acks_conflict", "acks_forbidden", "acks_unavailable", "acks_internal",
        "disk_full",     "raft_io_errors"};
    uint64_t cv[HS_ARRAY_LEN (cn)] = {store_checkpoints (self->store), self->batches,
                                      self->batches_full, self->snapshots_served};
    for (size_t i = 0; i < HS_ARRAY_LEN (self->acks); i++) cv[4 + i] = self->acks[i];
    /* disk full: raft's log (HA) or LMDB's checkpoints */
    size_t k = 4 + HS_ARRAY_LEN (self->acks);
    _Static_assert(4 + HS_ARRAY_LEN (self->acks) + 2 == HS_ARRAY_LEN (cn), "one name per counter");
    cv[k] = self->disk_full + (self->sr ? store_raft_disk_full (self->sr) : 0);
    cv[k + 1] = self->sr ? store_raft_io_errors (self->sr) : 0;
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
    if (self->ha) {
        self->n_nodelay = 0;
        /* Every member on hb.raft.<member>; only the serving leader on
         * hb.store (watchers follow its epoch). */
        s_ha_heartbeat (self, hb);
        char topic[64];
        snprintf (topic, sizeof topic, "hb.raft.%s", self->member);
        s_publish (self, topic, &env);
        if (store_raft_serving (self->sr)) s_publish (self, "hb.store", &env);
    } else {
        hs_pb_set_str (&hb->role, "standalone");
        s_publish (self, "hb.store", &env);
    }
    hb->counters = NULL;
    hb->n_counters = 0;
    hb->gauges = NULL;
    hb->n_gauges = 0;
    hb->histograms = NULL;
    hb->n_histograms = 0;
    hs_pb_free (hb);
}

/* ------------------------------------------------------------------ the replicated store */

static void s_arm_idle (self_t *self);
static void s_on_commands (void *arg);
static bool s_pending (void *arg);

/* The raft id of a member added later (--join), derived from its name so
 * that the member and the leader adding it agree without another flag, and
 * so that every member can name it from the configuration alone: a name of
 * up to 11 characters is its base-37 digits, with bit 62 set (far above
 * the --peers positions); a longer one a hash with bit 63 set (named only
 * where it was added or is running). */
#define JOIN_ID_CODED (1ull << 62)
#define JOIN_ID_HASH  (1ull << 63)
static const char s_b37[] = "-0123456789abcdefghijklmnopqrstuvwxyz";

static raft_id s_join_id (const char *name)
{
    size_t n = strlen (name);
    if (n > 11) return (store_raft_hash (name) >> 2) | JOIN_ID_HASH;
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) {
        const char *p = strchr (s_b37, name[i]);
        v = v * 37 + (uint64_t)(p ? p - s_b37 + 1 : 1);
    }
    return v | JOIN_ID_CODED;
}

/* The name of a raft id: --peers, a member this one added or is, or one
 * decoded from a coded id ("" when unknown). Valid until the next call. */
static const char *s_peer_name (self_t *self, raft_id id)
{
    static char buf[12];
    for (size_t i = 0; i < self->n_peers; i++)
        if (self->peers[i].id == id) return self->peers[i].name;
    if ((id & (JOIN_ID_CODED | JOIN_ID_HASH)) != JOIN_ID_CODED) return "";
    uint64_t v = id & ~JOIN_ID_CODED;
    size_t n = 0;
    while (v && n < 11) {
        uint64_t d = v % 37;
        if (d == 0) return "";
        buf[n++] = s_b37[d - 1];
        v /= 37;
    }
    buf[n] = 0;
    return buf;
}

/* Records (or updates) a member's name, address and id. */
static void s_learn_peer (self_t *self, const char *name, const char *address, raft_id id)
{
    peer_t *p = NULL;
    for (size_t i = 0; i < self->n_peers && !p; i++)
        if (hs_streq (self->peers[i].name, name)) p = &self->peers[i];
    if (!p) {
        if (self->n_peers == HS_ARRAY_LEN (self->peers)) return; /* named by its id if coded */
        p = &self->peers[self->n_peers++];
        p->name = hs_strdup (name);
    } else
        free (p->address);
    p->address = hs_strdup (address);
    p->id = id;
}

/* The commands' socket is watched only while this member serves and no
 * batch is in flight: otherwise queued commands would wake the loop in a
 * spin (ZMQ_EVENTS keeps saying POLLIN). Runs after every loop iteration. */
static void s_ha_post (void *arg)
{
    self_t *self = arg;
    bool want = store_raft_serving (self->sr) && !store_raft_busy (self->sr);
    if (want && !self->commands)
        self->commands = hs_loop_zsock (self->loop, hs_bus_sub_socket (self->bus), s_on_commands,
                                        s_pending, self);
    else if (!want && self->commands)
        hs_loop_zsock_free (&self->commands);
}

static void s_ha_done (void *arg, store_out_t *out, bool committed)
{
    self_t *self = arg;
    (void)committed;
    s_publish_out_of (self, out);
}

static void s_heartbeat (self_t *self);

static void s_ha_serving (void *arg, bool serving)
{
    self_t *self = arg;
    if (serving && !self->subscribed) {
        hs_bus_subscribe (self->bus, "cmd.");
        self->subscribed = true;
        /* The subscription in force before anyone hears of the new epoch:
         * clients resend their unacked commands when they see it. */
        int r = hs_bus_join (self->bus, RAFT_SERVE_JOIN_MS);
        if (r < 0)
            log_warn ("serving, but the bus did not echo within %d ms: %s", RAFT_SERVE_JOIN_MS,
                      strerror (-r));
        s_heartbeat (self);
    } else if (!serving && self->subscribed) {
        hs_bus_unsubscribe (self->bus, "cmd.");
        self->subscribed = false;
        /* Commands already queued in SUB would be applied at this member's
         * next term, maybe minutes later: drop them (their clients resend
         * to the new leader when they see its epoch). cmd. is the HA
         * store's only subscription. */
        size_t dropped = 0;
        for (size_t k = 0; k < 100000; k++) {
            char *topic;
            Hs__Envelope *env;
            size_t size;
            if (hs_bus_recv_sized (self->bus, "cmd.", &topic, &env, &size, 0) < 0) break;
            free (topic);
            hs_pb_free (env);
            dropped++;
        }
        if (dropped)
            log_info ("stopped serving: dropped %zu queued commands (their clients resend them to "
                      "the new leader)",
                      dropped);
    }
}

/* store_batch's apply: proposes to raft (one batch in flight). Commands
 * that reach a member that no longer serves are answered Unavailable. */
static int s_ha_apply (void *arg, Hs__Command *const *cmds, const char *const *ids, size_t n,
                       store_out_t *out)
{
    self_t *self = arg;
    if (!store_raft_serving (self->sr) || store_raft_busy (self->sr)) {
        for (size_t i = 0; i < n; i++)
            store_refuse (self->store, out, cmds[i], HS__CODE__CODE_UNAVAILABLE,
                          "this store member is not the leader; retry");
        self->ha_result = 1;
        return 0;
    }
    int r = store_raft_propose (self->sr, cmds, ids, n, out);
    self->ha_result = r;
    return r < 0 ? r : 0;
}

/* libraft 0.15's TCP transport never sets TCP_NODELAY: its small
 * AppendEntries and their results then wait on Nagle's algorithm against
 * the peer's delayed ACK (40 ms stalls: ack p99 ~49 ms at 16 clients).
 * Every TCP handle on raft's loop gets it, once (the set is forgotten at
 * each heartbeat, so a reused handle or descriptor is caught within 200 ms). */
static void s_nodelay_one (uv_handle_t *h, void *arg)
{
    self_t *self = arg;
    uv_os_fd_t fd;
    if (h->type != UV_TCP || uv_is_closing (h) || uv_fileno (h, &fd) != 0) return;
    for (size_t i = 0; i < self->n_nodelay; i++)
        if (self->nodelay[i].handle == h && self->nodelay[i].fd == fd) return;
    uv_tcp_nodelay ((uv_tcp_t *)h, 1);
    if (self->n_nodelay < HS_ARRAY_LEN (self->nodelay))
        self->nodelay[self->n_nodelay++].handle = h, self->nodelay[self->n_nodelay - 1].fd = fd;
}

static void s_nodelay (self_t *self)
{
    uv_walk (&self->uv, s_nodelay_one, self);
}

static void s_mc_watch (self_t *self);

/* libuv's work, from its backend descriptor and at its next timer. */
static void s_uv_pump (self_t *self)
{
    uv_run (&self->uv, UV_RUN_NOWAIT);
    s_nodelay (self);
    store_raft_tick (self->sr);
    s_mc_watch (self);
    int fatal = store_raft_fatal (self->sr);
    if (fatal && !hs_loop_exiting (self->loop)) {
        log_error ("stopping: the replicated store cannot go on (%s)", strerror (-fatal));
        hs_loop_exit (self->loop, 1);
    }
    int t = uv_backend_timeout (&self->uv);
    hs_loop_timer_set (self->uv_timer, t < 0 ? HS_NEVER : hs_mono_ns () + (int64_t)t * 1000000LL);
    /* Followers' windows grow from raft: checkpoint them too, once no entry
     * was applied for IDLE_MS or at the window's deadline (s_arm_idle). */
    uint64_t applied = store_applied_index (self->store);
    if (applied != self->applied_seen || hs_loop_timer_at (self->idle) == HS_NEVER) {
        self->applied_seen = applied;
        s_arm_idle (self);
    }
}

static void s_on_uv_io (void *arg, int fd, uint32_t revents)
{
    (void)fd;
    (void)revents;
    s_uv_pump (arg);
}

static void s_on_uv_timer (void *arg)
{
    s_uv_pump (arg);
}

static const char *s_role (int state)
{
    switch (state) {
    case RAFT_LEADER: return "leader";
    case RAFT_FOLLOWER: return "follower";
    case RAFT_CANDIDATE: return "candidate";
    default: return "unavailable";
    }
}

/* The raft fields of a StoreHeartbeat. */
static void s_ha_heartbeat (self_t *self, Hs__StoreHeartbeat *hb)
{
    struct raft *r = &self->raft;
    hs_pb_set_str (&hb->member, self->member);
    hs_pb_set_str (&hb->role, s_role (r->state));
    hb->term = r->current_term;
    hb->commit_index = r->commit_index;
    /* raft's: every entry up to it is in the window (barriers and
     * configuration entries carry no effects); store_applied_index is the
     * last one that did. */
    hb->applied_index = r->last_applied;
    raft_id lid = 0;
    const char *laddr = NULL;
    raft_leader (r, &lid, &laddr);
    hs_pb_set_str (&hb->leader, lid ? s_peer_name (self, lid) : "");
    for (unsigned i = 0; i < r->configuration.n; i++) {
        const struct raft_server *sv = &r->configuration.servers[i];
        Hs__StoreMember *m = hs_pb_new (&hs__store_member__descriptor);
        m->id = sv->id;
        hs_pb_set_str (&m->name, s_peer_name (self, sv->id));
        hs_pb_set_str (&m->address, sv->address);
        hs_pb_set_str (&m->role, sv->role == RAFT_VOTER     ? "voter"
                                 : sv->role == RAFT_STANDBY ? "standby"
                                                            : "spare");
        if (r->state == RAFT_LEADER && r->leader_state.progress)
            m->match_index =
                sv->id == self->raft_id ? r->last_stored : r->leader_state.progress[i].match_index;
        hs_pb_push ((void ***)&hb->members, &hb->n_members, m);
    }
    hs_pb_set_str (&hb->cluster_id, self->cluster_id);
    hb->snapshot_index = store_raft_snapshot_index (self->sr);
    hb->snapshots_installed = store_raft_snapshots_installed (self->sr);
}

/* --peers NAME=HOST:PORT,...: raft id = position. */
static int s_parse_peers (self_t *self)
{
    _cleanup_free_ char *copy = hs_strdup (self->peers_flag);
    char *save = NULL;
    for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save)) {
        char *eq = strchr (tok, '=');
        if (!eq || eq == tok || !eq[1] || !strchr (eq + 1, ':')) {
            fprintf (stderr, "hs-store: --peers: \"%s\" is not NAME=HOST:PORT\n", tok);
            return -1;
        }
        *eq = 0;
        size_t nl = strlen (tok);
        if (nl > 32 || strspn (tok, "abcdefghijklmnopqrstuvwxyz0123456789-") != nl) {
            fprintf (stderr, "hs-store: --peers: member name \"%s\" is not [a-z0-9-]{1,32}\n", tok);
            return -1;
        }
        if (self->n_peers == MAX_PEERS) {
            fprintf (stderr, "hs-store: --peers: at most %d members\n", MAX_PEERS);
            return -1;
        }
        for (size_t i = 0; i < self->n_peers; i++)
            if (strcmp (self->peers[i].name, tok) == 0) {
                fprintf (stderr, "hs-store: --peers: member \"%s\" twice\n", tok);
                return -1;
            }
        peer_t *p = &self->peers[self->n_peers++];
        p->name = hs_strdup (tok);
        p->address = hs_strdup (eq + 1);
        p->id = self->n_peers;
    }
    return 0;
}

/* <data>/cluster-id: written once raft was bootstrapped (or joined), and
 * compared at every start. Written only then, so a start that fails
 * before (no bus yet, a --member typo) leaves the member pristine. 0, or
 * 1 (logged) on a mismatch. */
static int s_cluster_id (self_t *self)
{
    _cleanup_free_ char *path = hs_sprintf ("%s/cluster-id", self->data);
    _cleanup_free_ char *derived = NULL;
    if (self->n_peers > 0 && !self->join) {
        /* like etcd's --initial-cluster-token: the same on every member */
        derived = hs_sprintf ("hs-%016llx", (unsigned long long)store_raft_hash (self->peers_flag));
    }
    const char *want = !hs_empty (self->cluster_flag) ? self->cluster_flag : derived;
    char stored[256] = "";
    FILE *f = fopen (path, "r");
    if (f) {
        if (!fgets (stored, sizeof stored, f)) stored[0] = 0;
        fclose (f);
        stored[strcspn (stored, "\n")] = 0;
    }
    if (stored[0] && want && strcmp (stored, want) != 0) {
        log_error ("this member's data dir %s belongs to cluster \"%s\", but it was started for "
                   "cluster \"%s\" (--cluster-id, or derived from --peers): refusing; use the "
                   "data dir of this cluster, or the right --cluster-id/--peers",
                   self->data, stored, want);
        return 1;
    }
    if (!stored[0] && !want) {
        log_error ("--join needs --cluster-id (the cluster's id: hb.raft.* shows it)");
        return 1;
    }
    self->cluster_id = hs_strdup (stored[0] ? stored : want);
    self->cluster_id_stored = stored[0] != 0;
    return 0;
}

/* Keeps the cluster id in <data>/cluster-id, once raft holds this
 * member's configuration. 0, or 1 (logged). */
static int s_cluster_id_write (self_t *self)
{
    if (self->cluster_id_stored) return 0;
    _cleanup_free_ char *path = hs_sprintf ("%s/cluster-id", self->data);
    _cleanup_free_ char *tmp = hs_sprintf ("%s.tmp", path);
    FILE *w = fopen (tmp, "w");
    bool ok = w && fprintf (w, "%s\n", self->cluster_id) >= 0 && fflush (w) == 0 &&
              fsync (fileno (w)) == 0;
    if (w && fclose (w) != 0) ok = false;
    if (!ok || rename (tmp, path) != 0) {
        log_error ("cannot write %s: %s", path, strerror (errno));
        return 1;
    }
    self->cluster_id_stored = true;
    return 0;
}

static void s_raft_close_cb (struct raft *r)
{
    self_t *self = r->data;
    raft_uv_close (&self->io);
    store_xport_fini (&self->xport);
    raft_uv_tcp_close (&self->transport);
    self->raft_closed = true;
}

/* The snapshot libraft 0.15 loads at start: the most recent
 * snapshot-TERM-INDEX-TIMESTAMP (not .meta) in dir, by (term, index,
 * timestamp). NULL: none. */
static char *s_last_snapshot (const char *dir)
{
    DIR *d = opendir (dir);
    if (!d) return NULL;
    char *best = NULL;
    uint64_t bt = 0, bi = 0, bs = 0;
    struct dirent *e;
    while ((e = readdir (d))) {
        uint64_t t, i, ts;
        int n = 0;
        if (sscanf (e->d_name, "snapshot-%" SCNu64 "-%" SCNu64 "-%" SCNu64 "%n", &t, &i, &ts, &n) !=
                3 ||
            e->d_name[n] != '\0')
            continue;
        if (!best || t > bt || (t == bt && (i > bi || (i == bi && ts > bs)))) {
            free (best);
            best = hs_strdup (e->d_name);
            bt = t, bi = i, bs = ts;
        }
    }
    closedir (d);
    return best;
}

/* Whether raft_start's failure is its snapshot's: libraft 0.15 does not
 * name the file when the snapshot does not decompress (LZ4F), and our FSM
 * refuses one with a bad CRC (store_raft_refused). */
static bool s_snapshot_failed (self_t *self)
{
    const char *m = raft_errmsg (&self->raft);
    return strstr (m, "LZ4F") || strstr (m, "ecompress") || strstr (m, "snapshot-") ||
           (self->sr && store_raft_refused (self->sr) > 0);
}

/* Before the store is opened: who this member is, of which cluster. */
static int s_ha_identity (self_t *self)
{
    if (s_cluster_id (self)) return 1;
    for (size_t i = 0; i < self->n_peers; i++)
        if (strcmp (self->peers[i].name, self->member) == 0) {
            self->raft_id = self->peers[i].id;
            self->raft_address = hs_strdup (self->peers[i].address);
        }
    if (self->join) {
        self->raft_id = s_join_id (self->member);
        if (!hs_empty (self->raft_addr_flag)) {
            free (self->raft_address);
            self->raft_address = hs_strdup (self->raft_addr_flag);
        }
        if (self->raft_address)
            s_learn_peer (self, self->member, self->raft_address, self->raft_id);
    }
    if (!self->raft_id || !self->raft_address) {
        log_error ("member \"%s\" is not in --peers%s", self->member,
                   self->join ? " and --join has no --raft-address" : "");
        return 1;
    }
    return 0;
}

static int s_ha_setup (self_t *self)
{
    self->raft_dir = !hs_empty (self->raft_dir_flag) ? hs_strdup (self->raft_dir_flag)
                                                     : hs_sprintf ("%s/raft", self->data);
    int r = hs_mkdir_p (self->raft_dir, 0700);
    if (r < 0) {
        log_error ("cannot create the raft dir %s: %s", self->raft_dir, strerror (-r));
        return 1;
    }
    store_raft_cbs_t cbs = {.done = s_ha_done, .serving = s_ha_serving, .arg = self};
    store_raft_new (self->store, store_raft_hash (self->cluster_id), &cbs, &self->sr);
    store_raft_set_names (self->sr, self->cluster_id, self->raft_dir);
    if (uv_loop_init (&self->uv) != 0) return 1;
    self->uv_ok = true;
    int rv = raft_uv_tcp_init (&self->transport, &self->uv);
    self->transport_ok = rv == 0;
    if (rv == 0 && store_xport_init (&self->xport, &self->transport, self->cluster_id) < 0) {
        raft_uv_tcp_close (&self->transport);
        self->transport_ok = false;
        rv = RAFT_NOMEM;
    }
    if (rv == 0) rv = raft_uv_init (&self->io, &self->uv, self->raft_dir, &self->xport);
    self->io_ok = rv == 0 && self->transport_ok;
    /* A corrupt segment must stop the member, not be moved aside: libraft's
     * auto-recovery would start it without those entries (canonical/raft#277),
     * and a member that lost acknowledged entries may vote as if it had
     * never seen them. */
    if (self->io_ok) raft_uv_set_auto_recovery (&self->io, false);
    if (rv == 0)
        rv = raft_init (&self->raft, &self->io, store_raft_fsm (self->sr), self->raft_id,
                        self->raft_address);
    if (rv != 0) {
        log_error ("cannot start raft in %s: %s (%s)", self->raft_dir, raft_strerror (rv),
                   self->raft_ok ? raft_errmsg (&self->raft) : "init");
        return 1;
    }
    self->raft_ok = true;
    self->raft.data = self;
    store_raft_attach (self->sr, &self->raft);
    unsigned et = (unsigned)self->election_ms;
    raft_set_election_timeout (&self->raft, et);
    raft_set_heartbeat_timeout (&self->raft, et / 6 ? et / 6 : 1);
    raft_set_snapshot_threshold (&self->raft, (unsigned)self->snap_threshold);
    raft_set_snapshot_trailing (&self->raft, (unsigned)self->snap_trailing);
    raft_set_pre_vote (&self->raft, true);
    /* An empty raft dir is bootstrapped (or joined) only on a pristine
     * member: a member that lost its raft dir must not bootstrap again (it
     * would vote as if it had never seen the entries it acknowledged), and
     * an existing single-store or restored data dir must not start a
     * cluster: raft's log would not hold its records. */
    _cleanup_free_ char *meta1 = hs_sprintf ("%s/metadata1", self->raft_dir);
    _cleanup_free_ char *meta2 = hs_sprintf ("%s/metadata2", self->raft_dir);
    bool raft_empty = access (meta1, F_OK) != 0 && access (meta2, F_OK) != 0;
    bool lmdb_empty = store_applied_index (self->store) == 0 && store_revision (self->store) == 0;
    if (raft_empty && (!lmdb_empty || (!self->join && self->cluster_id_stored))) {
        log_error ("the raft dir %s is empty, but this member's data dir %s is not pristine "
                   "(cluster id \"%s\" stored %s, applied to raft index %llu, revision %lld): "
                   "refusing to %s. A member that lost its raft dir, or a single-store or "
                   "restored data dir, cannot be (re)started as a member: remove this member "
                   "(hsctl member remove), clear its --raft-dir and --data, and add it again "
                   "(--join; it gets a snapshot from the leader)",
                   self->raft_dir, self->data, self->cluster_id,
                   self->cluster_id_stored ? "before" : "nowhere yet",
                   (unsigned long long)store_applied_index (self->store),
                   (long long)store_revision (self->store),
                   self->join ? "join a cluster" : "bootstrap a cluster");
        return 1;
    }
    if (!self->join && raft_empty) {
        struct raft_configuration conf;
        raft_configuration_init (&conf);
        for (size_t i = 0; i < self->n_peers; i++)
            raft_configuration_add (&conf, self->peers[i].id, self->peers[i].address, RAFT_VOTER);
        rv = raft_bootstrap (&self->raft, &conf);
        raft_configuration_close (&conf);
        if (rv == 0) {
            log_info ("bootstrapped cluster \"%s\" with %zu members in %s", self->cluster_id,
                      self->n_peers, self->raft_dir);
            if (s_cluster_id_write (self)) return 1;
        } else if (rv != RAFT_CANTBOOTSTRAP) {
            log_error ("cannot bootstrap raft in %s: %s", self->raft_dir,
                       raft_errmsg (&self->raft));
            return 1;
        }
    }
    rv = raft_start (&self->raft);
    _cleanup_free_ char *snap =
        rv != 0 && s_snapshot_failed (self) ? s_last_snapshot (self->raft_dir) : NULL;
    if (rv != 0) {
        if (snap)
            log_error ("cannot start raft: its snapshot %s/%s (and %s.meta) is corrupt (%s); "
                       "refusing to start on it: remove this member (hsctl member remove), clear "
                       "its --raft-dir and --data, and add it again (it gets a snapshot from the "
                       "leader); or restore that file from a copy",
                       self->raft_dir, snap, snap, raft_errmsg (&self->raft));
        else if (rv == RAFT_CORRUPT || rv == RAFT_MALFORMED)
            log_error ("cannot start raft: the raft log in %s is corrupt (%s); refusing to start "
                       "without entries it may have acknowledged: remove this member "
                       "(hsctl member remove), clear its --raft-dir and --data, and add it again",
                       self->raft_dir, raft_errmsg (&self->raft));
        else
            log_error ("cannot start raft in %s: %s (%s)", self->raft_dir, raft_strerror (rv),
                       raft_errmsg (&self->raft));
        return 1;
    }
    if (s_cluster_id_write (self)) return 1;
    log_info ("member %s (raft id %llu at %s) of cluster \"%s\": applied to raft index %llu",
              self->member, (unsigned long long)self->raft_id, self->raft_address, self->cluster_id,
              (unsigned long long)store_applied_index (self->store));
    return 0;
}

/* ------------------------------------------------------------------ membership (cmd.members/) */

typedef struct s_mc {
    struct s_mc *next; /* self->mcs */
    self_t *self;
    bool answered; /* answered, but raft may still call back (libraft's raft_assign) */
    char *client_id, *request_id, *op;
    raft_id id, old_id; /* the member added/removed/transferred to; replace: the one leaving */
    int stage;          /* replace: 0 add, 1 assign, 2 remove */
    /* the promotion (assign): the promotee's match index, and since when */
    raft_index promo_match;
    int64_t promo_since;
    struct raft_change change;
    struct raft_transfer transfer;
} s_mc_t;

static void s_mc_publish (self_t *self, const char *client_id, const char *request_id,
                          Hs__Code code, const char *msg)
{
    if (!self->bus || !hs_topic_id_ok (client_id)) return;
    Hs__Ack *ack = hs_pb_new (&hs__ack__descriptor);
    hs_pb_set_str (&ack->request_id, request_id);
    ack->code = code;
    hs_pb_set_str (&ack->message, msg);
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_ACK;
    env.ack = ack;
    _cleanup_free_ char *topic = hs_sprintf ("ack.%s/", client_id);
    s_publish (self, topic, &env);
    hs_pb_free (ack);
}

static void s_mc_free (s_mc_t *mc)
{
    for (s_mc_t **p = &mc->self->mcs; *p; p = &(*p)->next)
        if (*p == mc) {
            *p = mc->next;
            break;
        }
    free (mc->client_id);
    free (mc->request_id);
    free (mc->op);
    free (mc);
}

/* Answers mc (once) and frees it, unless raft still holds its request
 * (park: freed by the callback that raft owes). */
static void s_mc_answer_park (s_mc_t *mc, Hs__Code code, const char *msg, bool park)
{
    self_t *self = mc->self;
    if (!mc->answered) {
        mc->answered = true;
        s_mc_publish (self, mc->client_id, mc->request_id, code, msg);
        log_info ("member change %s (request %s): %s%s%s", mc->op, hs_s (mc->request_id),
                  code == HS__CODE__CODE_OK ? "done" : "failed", msg ? ": " : "", hs_s (msg));
        /* Remembered unless retryable: a resend of an Unavailable change
         * tries again. */
        if (code != HS__CODE__CODE_UNAVAILABLE) {
            size_t k = self->mc_done_next++ % HS_ARRAY_LEN (self->mc_done);
            free (self->mc_done[k].client_id);
            free (self->mc_done[k].request_id);
            free (self->mc_done[k].msg);
            self->mc_done[k].client_id = hs_strdup (mc->client_id);
            self->mc_done[k].request_id = hs_strdup (mc->request_id);
            self->mc_done[k].msg = msg ? hs_strdup (msg) : NULL;
            self->mc_done[k].code = code;
        }
    }
    if (!park) s_mc_free (mc);
}

static void s_mc_answer (s_mc_t *mc, Hs__Code code, const char *msg)
{
    s_mc_answer_park (mc, code, msg, false);
}

/* Retryable raft refusals (another change under way, leadership moving)
 * are Unavailable: the client retries with the same request id. */
static Hs__Code s_mc_code (int rv)
{
    switch (rv) {
    case RAFT_LEADERSHIPLOST:
    case RAFT_NOTLEADER:
    case RAFT_CANTCHANGE:
    case RAFT_NOCONNECTION:
    case RAFT_SHUTDOWN: return HS__CODE__CODE_UNAVAILABLE;
    case RAFT_DUPLICATEID:
    case RAFT_DUPLICATEADDRESS: return HS__CODE__CODE_ALREADY_EXISTS;
    case RAFT_BADID:
    case RAFT_NOTFOUND: return HS__CODE__CODE_NOT_FOUND;
    default: return HS__CODE__CODE_INVALID;
    }
}

/* "raft: " and libraft's message, or its code's text where it left the
 * message empty (raft_configuration_add's refusals) or stale. */
static char *s_mc_msg (struct raft *r, int rv)
{
    const char *m = raft_errmsg (r);
    return hs_sprintf ("raft: %s", !hs_empty (m) ? m : raft_strerror (rv));
}

static void s_mc_step (s_mc_t *mc);

static void s_mc_change_cb (struct raft_change *req, int status)
{
    s_mc_t *mc = req->data;
    if (mc->answered) { /* a parked request raft called back after all */
        s_mc_free (mc);
        return;
    }
    if (status != 0) {
        _cleanup_free_ char *m = hs_sprintf ("raft: %s", raft_strerror (status));
        s_mc_answer (mc, s_mc_code (status), m);
        return;
    }
    mc->stage++;
    s_mc_step (mc);
}

static void s_mc_transfer_cb (struct raft_transfer *req)
{
    s_mc_t *mc = req->data;
    raft_id lid = 0;
    const char *addr = NULL;
    raft_leader (&mc->self->raft, &lid, &addr);
    if (lid == mc->id)
        s_mc_answer (mc, HS__CODE__CODE_OK, NULL);
    else
        s_mc_answer (mc, HS__CODE__CODE_UNAVAILABLE, "leadership did not move; retry");
}

/* add: add (spare), assign voter. remove: remove. replace: add, assign,
 * remove the old one. Each step starts when the last one's configuration
 * committed. */
static void s_mc_step (s_mc_t *mc)
{
    struct raft *r = &mc->self->raft;
    bool add = strcmp (mc->op, "add") == 0 || strcmp (mc->op, "replace") == 0;
    int rv = 0;
    mc->change.data = mc;
    r->errmsg[0] = '\0'; /* raft_configuration_add's refusals leave it as it was */
    if (add && mc->stage == 0) {
        const char *address = "";
        for (size_t i = 0; i < mc->self->n_peers; i++)
            if (mc->self->peers[i].id == mc->id) address = mc->self->peers[i].address;
        rv = raft_add (r, &mc->change, mc->id, address, s_mc_change_cb);
    } else if (add && mc->stage == 1)
        rv = raft_assign (r, &mc->change, mc->id, RAFT_VOTER, s_mc_change_cb);
    else if (strcmp (mc->op, "remove") == 0 && mc->stage == 0)
        rv = raft_remove (r, &mc->change, mc->id, s_mc_change_cb);
    else if (strcmp (mc->op, "replace") == 0 && mc->stage == 2)
        rv = raft_remove (r, &mc->change, mc->old_id, s_mc_change_cb);
    else {
        s_mc_answer (mc, HS__CODE__CODE_OK, NULL);
        return;
    }
    if (rv != 0) {
        _cleanup_free_ char *m = s_mc_msg (r, rv);
        /* libraft 0.15's raft_assign keeps the request as the change under
         * way when appending the configuration fails, and may call back
         * later: then mc must outlive this answer. */
        s_mc_answer_park (mc, s_mc_code (rv), m, r->leader_state.change == &mc->change);
    }
}

/* A promotion whose promotee's log has not moved for this long is given up
 * (s_mc_watch): election timeouts. */
#define MC_PROMOTION_STALL 10

/* libraft 0.15 promotes an added member (raft_assign to voter) only once it
 * caught up, and refuses every other configuration change meanwhile ("a
 * configuration change is already in progress"), with no timeout: a member
 * added at a wrong address, or never started, blocked every change until
 * the leader changed. A promotion whose promotee's log did not move for
 * MC_PROMOTION_STALL election timeouts is given up here: libraft's
 * promotion state is cleared (the fields raft_assign set; nothing else
 * refers to them) and the change answered Unavailable. The member stays a
 * spare: an add again promotes it, a remove removes it. */
static void s_mc_watch (self_t *self)
{
    struct raft *r = &self->raft;
    if (!self->raft_ok || r->state != RAFT_LEADER || !r->leader_state.promotee_id) return;
    s_mc_t *mc = NULL;
    for (s_mc_t *p = self->mcs; p && !mc; p = p->next)
        if (!p->answered && r->leader_state.change == &p->change) mc = p;
    if (!mc) return;
    const struct raft_server *sv = NULL;
    raft_index match = 0;
    bool sending_snapshot = false;
    for (unsigned i = 0; i < r->configuration.n; i++)
        if (r->configuration.servers[i].id == r->leader_state.promotee_id) {
            sv = &r->configuration.servers[i];
            match = r->leader_state.progress[i].match_index;
            /* libraft's PROGRESS__SNAPSHOT: one InstallSnapshot RPC, no
             * progress until it is answered (libraft gives it up itself
             * after its install-snapshot timeout) */
            sending_snapshot = r->leader_state.progress[i].state == 2;
        }
    int64_t now = hs_mono_ns ();
    if (!mc->promo_since || match != mc->promo_match || sending_snapshot) {
        mc->promo_since = now;
        mc->promo_match = match;
        return;
    }
    int64_t stall_ms = (int64_t)self->election_ms * MC_PROMOTION_STALL;
    if (now - mc->promo_since < stall_ms * 1000000) return;
    const char *name = s_peer_name (self, r->leader_state.promotee_id);
    _cleanup_free_ char *m = hs_sprintf (
        "member %s (at %s) did not catch up: its raft log did not move for %lld ms (is its "
        "hs-store running, started --join with that --raft-address?); it stays a spare: add it "
        "again to retry, or remove it",
        name ? name : "?", sv ? sv->address : "?", (long long)stall_ms);
    r->leader_state.promotee_id = 0;
    r->leader_state.round_number = 0;
    r->leader_state.round_index = 0;
    r->leader_state.round_start = 0;
    r->leader_state.change = NULL;
    s_mc_answer (mc, HS__CODE__CODE_UNAVAILABLE, m);
}

/* A member's raft id by name: --peers and known members, else a joined
 * member's derived id if the configuration holds it. 0: unknown. */
static raft_id s_peer_id (self_t *self, const char *name)
{
    for (size_t i = 0; i < self->n_peers; i++)
        if (hs_streq (self->peers[i].name, name)) return self->peers[i].id;
    raft_id id = s_join_id (name);
    for (unsigned i = 0; i < self->raft.configuration.n; i++)
        if (self->raft.configuration.servers[i].id == id) return id;
    return 0;
}

/* The role of raft id `id` in the current configuration, -1: not in it. */
static int s_conf_role (self_t *self, raft_id id)
{
    for (unsigned i = 0; id && i < self->raft.configuration.n; i++)
        if (self->raft.configuration.servers[i].id == id)
            return self->raft.configuration.servers[i].role;
    return -1;
}

/* A MemberChange on another topic than cmd.members/, or from another
 * identity than an admin (store_authz_member_change_ok): dropped unanswered
 * (an answer would go to whatever client id it names), counted in hb.store's
 * forbidden, logged once per identity. */
static void s_member_change_refused (self_t *self, const char *topic, const char *identity)
{
    store_count_forbidden (self->store);
    char key[STORE_AUTHZ_MAX_IDENTITY + 64];
    snprintf (key, sizeof key, "store:member-change:%.*s", STORE_AUTHZ_MAX_IDENTITY,
              identity ? identity : "(none)");
    hs_log_once (HS_LOG_WARN, key,
                 "dropped a MemberChange of \"%.*s\" on %.100s: only an admin may change the "
                 "members, and only on " STORE_AUTHZ_MEMBERS_TOPIC " (counted in hb.store's "
                 "forbidden; further ones of this identity not logged)",
                 STORE_AUTHZ_MAX_IDENTITY, identity ? identity : "(no identity)", topic);
}

/* A MemberChange on cmd.members/ from an admin (or on an insecure bus):
 * s_batch_ha checked both (store_authz_member_change_ok). */
static void s_member_change (self_t *self, const Hs__MemberChange *c, const char *identity)
{
    (void)identity;
    if (!c || !hs_topic_id_ok (c->client_id)) {
        store_count_garbage (self->store);
        return;
    }
    const char *rid = hs_s (c->request_id);
    for (s_mc_t *p = self->mcs; p; p = p->next)
        if (!p->answered && hs_streq (p->client_id, c->client_id) && hs_streq (p->request_id, rid))
            return; /* a resend of a change under way: its answer will come */
    for (size_t k = 0; k < HS_ARRAY_LEN (self->mc_done); k++)
        if (self->mc_done[k].client_id && hs_streq (self->mc_done[k].client_id, c->client_id) &&
            hs_streq (self->mc_done[k].request_id, rid)) {
            s_mc_publish (self, c->client_id, rid, self->mc_done[k].code, self->mc_done[k].msg);
            return;
        }
    s_mc_t *mc = hs_calloc (1, sizeof *mc);
    mc->self = self;
    mc->next = self->mcs;
    self->mcs = mc;
    mc->client_id = hs_strdup (c->client_id);
    mc->request_id = hs_strdup (hs_s (c->request_id));
    mc->op = hs_strdup (hs_s (c->op));
    const char *name = hs_s (c->name);
    size_t nl = strlen (name);
    if (nl == 0 || nl > 32 || strspn (name, "abcdefghijklmnopqrstuvwxyz0123456789-") != nl) {
        s_mc_answer (mc, HS__CODE__CODE_INVALID, "name must be [a-z0-9-]{1,32}");
        return;
    }
    if (strcmp (mc->op, "add") == 0 || strcmp (mc->op, "replace") == 0) {
        if (hs_empty (c->address) || !strchr (c->address, ':')) {
            s_mc_answer (mc, HS__CODE__CODE_INVALID, "an added member needs address HOST:PORT");
            return;
        }
        if (strcmp (mc->op, "replace") == 0 && !(mc->old_id = s_peer_id (self, c->replaces))) {
            s_mc_answer (mc, HS__CODE__CODE_NOT_FOUND,
                         "replace: no such member to replace (or this leader does not know its "
                         "name: give every member, --join ones too, the same --peers)");
            return;
        }
        /* An added member always has its derived id (it runs --join). */
        mc->id = s_join_id (name);
        raft_id cur = s_peer_id (self, name);
        for (unsigned i = 0; cur && i < self->raft.configuration.n; i++)
            if (self->raft.configuration.servers[i].id == cur && cur != mc->id) {
                s_mc_answer (mc, HS__CODE__CODE_ALREADY_EXISTS,
                             "a member of that name is in the configuration: remove it first");
                return;
            }
        /* libraft's raft_add refuses a known id with RAFT_DUPLICATEID and no
         * message. A voter is there already; a spare is an add that stopped
         * before its promotion (leadership moved): promote it. */
        int role = s_conf_role (self, mc->id);
        if (role == RAFT_VOTER && strcmp (mc->op, "add") == 0) {
            _cleanup_free_ char *m =
                hs_sprintf ("member %s is already in the configuration (a voter)", name);
            s_mc_answer (mc, HS__CODE__CODE_ALREADY_EXISTS, m);
            return;
        }
        if (role >= 0) mc->stage = role == RAFT_VOTER ? 2 : 1;
        s_learn_peer (self, name, c->address, mc->id);
    } else if (strcmp (mc->op, "remove") == 0 || strcmp (mc->op, "transfer") == 0) {
        if (!(mc->id = s_peer_id (self, name)) || s_conf_role (self, mc->id) < 0) {
            _cleanup_free_ char *m = hs_sprintf (
                "no member %s in the configuration (or this leader does not know its name: give "
                "every member, --join ones too, the same --peers)",
                name);
            s_mc_answer (mc, HS__CODE__CODE_NOT_FOUND, m);
            return;
        }
    } else {
        s_mc_answer (mc, HS__CODE__CODE_INVALID, "op must be add, remove, replace or transfer");
        return;
    }
    if (strcmp (mc->op, "transfer") == 0) {
        mc->transfer.data = mc;
        self->raft.errmsg[0] = '\0';
        int rv = raft_transfer (&self->raft, &mc->transfer, mc->id, s_mc_transfer_cb);
        if (rv != 0) {
            _cleanup_free_ char *m = s_mc_msg (&self->raft, rv);
            s_mc_answer (mc, s_mc_code (rv), m);
        }
        return;
    }
    s_mc_step (mc);
}

static void s_handover_cb (struct raft_transfer *req)
{
    *(bool *)req->data = true;
}

/* A leader stopping cleanly (SIGTERM: a rolling restart) hands leadership
 * to the most up-to-date voter first: the others need not wait out an
 * election timeout. Raft runs here, off the daemon loop (which has stopped):
 * a batch in flight may still commit and be answered. Bounded by two
 * election timeouts. */
static void s_handover (self_t *self)
{
    if (!self->raft_ok || self->raft.state != RAFT_LEADER) return;
    bool *done = &self->handover_done; /* raft may call back from raft_close */
    self->handover = (struct raft_transfer){.data = done};
    int rv = raft_transfer (&self->raft, &self->handover, 0, s_handover_cb);
    if (rv != 0) return; /* no voting follower (a single member), or one under way */
    int64_t end = hs_mono_ns () + 2 * self->election_ms * 1000000LL;
    while (!*done && hs_mono_ns () < end) {
        uv_run (&self->uv, UV_RUN_ONCE);
        store_raft_tick (self->sr);
    }
    raft_id lid = 0;
    const char *addr = NULL;
    raft_leader (&self->raft, &lid, &addr);
    if (*done && lid && lid != self->raft_id)
        log_info ("stopping: handed leadership to %s", s_peer_name (self, lid));
    else if (!*done)
        log_info ("stopping: no member took over leadership in time");
}

static void s_ha_teardown (self_t *self)
{
    hs_loop_io_free (&self->uv_io);
    hs_loop_timer_free (&self->uv_timer);
    hs_loop_post_free (&self->post);
    s_handover (self);
    if (self->raft_ok) {
        raft_close (&self->raft, s_raft_close_cb);
        self->raft_ok = false;
    } else {
        if (self->io_ok) raft_uv_close (&self->io);
        store_xport_fini (&self->xport);
        if (self->transport_ok) raft_uv_tcp_close (&self->transport);
    }
    if (self->uv_ok) {
        uv_run (&self->uv, UV_RUN_DEFAULT); /* the close callbacks */
        uv_loop_close (&self->uv);
        self->uv_ok = false;
    }
    store_raft_destroy (&self->sr);
    while (self->mcs) s_mc_free (self->mcs); /* parked ones raft never called back */
    for (size_t k = 0; k < HS_ARRAY_LEN (self->mc_done); k++) {
        free (self->mc_done[k].client_id);
        free (self->mc_done[k].request_id);
        free (self->mc_done[k].msg);
    }
    for (size_t i = 0; i < self->n_peers; i++) {
        free (self->peers[i].name);
        free (self->peers[i].address);
    }
    self->n_peers = 0;
    free (self->cluster_id);
    free (self->raft_dir);
    free (self->raft_address);
}

/* ------------------------------------------------------------------ the batch */

/* Deletes Events nobody repeated within --event-ttl, through the same path
 * as any command: logged, committed, published. */
static void s_sweep_events (self_t *self)
{
    if (self->ha && (!store_raft_serving (self->sr) || store_raft_busy (self->sr))) return;
    Hs__Command *cmd =
        store_expired_events (self->store, hs_now_ns () - self->event_ttl_ns, EVENT_SWEEP_MAX);
    if (!cmd) return;
    size_t n = cmd->n_writes;
    int r = self->ha ? store_raft_submit (self->sr, &cmd, NULL, 1, &self->out)
                     : store_apply (self->store, &cmd, 1, &self->out);
    if (r < 0)
        log_warn ("could not delete %zu expired Events: %s", n, strerror (-r));
    else
        log_debug ("deleted %zu expired Events", n);
    if (!self->ha || r != 0) s_publish_out (self); /* ha, 0: held until committed */
    store_out_reset (&self->out);
    hs_pb_free (cmd);
}

static void s_checkpoint (self_t *self)
{
    int r = store_checkpoint (self->store);
    if (r == -ENOSPC || r == -EFBIG) self->disk_full++;
    if (r < 0)
        hs_log_once (HS_LOG_ERROR, "store:checkpoint",
                     "cannot checkpoint: %s; acked writes stay in the write-ahead log (further "
                     "failures not logged)",
                     strerror (-r));
}

/* The replicated store's batch: on the serving leader with no batch in
 * flight. Snapshot requests are served first, after a checkpoint: every
 * acked write is committed and in the window then, and nothing uncommitted
 * is (the previous batch committed), so LMDB never holds an uncommitted
 * effect. Then the commands go to raft (s_ha_apply); their acks and events
 * are held until the entry commits (s_ha_done). No arena here: the held
 * messages outlive the batch. */
static void s_batch_ha (self_t *self)
{
    if (!store_raft_serving (self->sr) || store_raft_busy (self->sr)) return;
    /* Nothing in flight: the window holds committed batches only. Under a
     * steady load the idle timer rarely finds such a moment: checkpoint
     * here when due, as the single store does after its acks. */
    if (store_checkpoint_due (self->store, hs_mono_ns (), false)) s_checkpoint (self);
    while (!store_batch_full (self->batch)) {
        char *topic;
        Hs__Envelope *env;
        size_t size;
        int r = hs_bus_recv_sized (self->bus, "cmd.", &topic, &env, &size, 0);
        if (r < 0) break;
        if (store_join_take (self->bus, topic, env)) continue;
        if (env->body_case == HS__ENVELOPE__BODY_MEMBER_CHANGE) {
            const char *who = hs_bus_peer_identity (self->bus);
            if (store_authz_member_change_ok (topic, who, hs_bus_identity (self->bus) != NULL))
                s_member_change (self, env->member_change, who);
            else
                s_member_change_refused (self, topic, who);
            free (topic);
            hs_pb_free (env);
            continue;
        }
        store_batch_take_as (self->batch, topic, env, size, hs_bus_peer_identity (self->bus));
    }
    size_t n_cmds = store_batch_n_commands (self->batch);
    if (n_cmds > self->queue_max) self->queue_max = n_cmds;
    if (n_cmds) self->batches++;
    if (store_batch_full (self->batch)) self->batches_full++;
    size_t n_snaps = store_batch_n_snapshots (self->batch);
    if (n_snaps > 0) s_checkpoint (self);
    for (size_t i = 0; i < n_snaps; i++)
        s_serve_snapshot (self, store_batch_snapshot (self->batch, i),
                          store_batch_snapshot_identity (self->batch, i));
    self->snapshots_served += n_snaps;
    self->ha_result = 1;
    if (store_batch_apply (self->batch, &self->out)) {
        if (self->ha_result == 0)
            store_raft_hold (self->sr, &self->out); /* s_ha_done publishes */
        else
            s_publish_out (self);
        store_out_reset (&self->out);
    }
    store_batch_end (self->batch);
}

static void s_batch (self_t *self)
{
    if (self->ha) {
        s_batch_ha (self);
        return;
    }
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
    /* Not with a batch in flight: LMDB would hold an uncommitted effect. */
    if (self->ha && store_raft_busy (self->sr)) {
        hs_loop_timer_set (self->idle, hs_mono_ns () + IDLE_MS * 1000000LL);
        return;
    }
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
    if (self->ha && (!store_raft_serving (self->sr) || store_raft_busy (self->sr))) return false;
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
    case 'm': self->member = value; return 0;
    case 'P': self->peers_flag = value; return 0;
    case 'c': self->cluster_flag = value; return 0;
    case 'D': self->raft_dir_flag = value; return 0;
    case 'J': self->join = true; return 0;
    case 'A': self->raft_addr_flag = value; return 0;
    case 'H':
        return hs_daemon_int ("hs-store", "--snapshot-threshold", value, 2, 1 << 30,
                              &self->snap_threshold);
    case 'W':
        return hs_daemon_int ("hs-store", "--snapshot-trailing", value, 1, 1 << 30,
                              &self->snap_trailing);
    case 'T':
        return hs_daemon_int ("hs-store", "--election-timeout", value, 10, 60000,
                              &self->election_ms);
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
    self->ha = !hs_empty (self->peers_flag) || self->join;
    if (self->ha) {
        size_t ml = self->member ? strlen (self->member) : 0;
        if (ml == 0 || ml > 32 ||
            strspn (self->member, "abcdefghijklmnopqrstuvwxyz0123456789-") != ml) {
            fprintf (stderr, "hs-store: --peers and --join need --member NAME ([a-z0-9-]{1,32})\n");
            return -1;
        }
        if (!hs_empty (self->peers_flag) && s_parse_peers (self) < 0) return -1;
        if (self->join && hs_empty (self->raft_addr_flag)) {
            bool listed = false;
            for (size_t i = 0; i < self->n_peers; i++)
                listed |= strcmp (self->peers[i].name, self->member) == 0;
            if (!listed) {
                fprintf (stderr, "hs-store: --join needs --raft-address HOST:PORT\n");
                return -1;
            }
        }
        self->opts.replicated = true;
    } else if (self->member || self->cluster_flag || self->raft_dir_flag || self->raft_addr_flag) {
        fprintf (stderr, "hs-store: --member, --cluster-id, --raft-dir and --raft-address need "
                         "--peers or --join\n");
        return -1;
    }
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
    if (self->ha && s_ha_identity (self)) return 1;
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
    /* Several brokers: the SUB socket moves off a broker gone quiet. The
     * store reads its SUB socket only while it serves (and a follower never
     * does), so the check runs on the loop, not on reading. */
    if (hs_bus_attach (self->bus, loop) < 0) {
        log_error ("cannot watch the bus's brokers: out of memory");
        return 1;
    }
    /* Replicated: only the serving leader subscribes to cmd. (s_ha_serving). */
    if (!self->ha) hs_bus_subscribe (self->bus, "cmd.");
    r = hs_bus_join (self->bus, JOIN_TIMEOUT_MS);
    if (r < 0) {
        log_error ("cannot join the bus: %s", strerror (-r));
        return 1;
    }
    self->batch = store_batch_new (self->store);
    if (self->ha) {
        store_batch_set_apply (self->batch, s_ha_apply, self);
        if (s_ha_setup (self)) return 1;
        self->uv_io = hs_loop_io (loop, uv_backend_fd (&self->uv), EPOLLIN, s_on_uv_io, self);
        self->uv_timer = hs_loop_timer (loop, hs_mono_ns (), s_on_uv_timer, self);
        self->post = hs_loop_post (loop, s_ha_post, self);
        if (!self->uv_io || !self->post) return 1;
    } else {
        self->commands =
            hs_loop_zsock (loop, hs_bus_sub_socket (self->bus), s_on_commands, s_pending, self);
        if (!self->commands) return 1;
    }
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
    if (self->ha) s_ha_teardown (self); /* before the bus: a held batch is answered */
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
    {"member", required_argument, NULL, 'm'},
    {"peers", required_argument, NULL, 'P'},
    {"cluster-id", required_argument, NULL, 'c'},
    {"raft-dir", required_argument, NULL, 'D'},
    {"election-timeout", required_argument, NULL, 'T'},
    {"join", no_argument, NULL, 'J'},
    {"snapshot-threshold", required_argument, NULL, 'H'},
    {"snapshot-trailing", required_argument, NULL, 'W'},
    {"raft-address", required_argument, NULL, 'A'},
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
    self_t self = {.lock_fd = -1,
                   .event_ttl_ns = 3600LL * 1000000000LL,
                   .election_ms = RAFT_ELECTION_MS,
                   .snap_threshold = RAFT_SNAP_THRESH,
                   .snap_trailing = RAFT_SNAP_TRAILING};
    hs_net_conf_default (&self.net);
    return hs_daemon_main (&s_daemon, &self, argc, argv);
}
