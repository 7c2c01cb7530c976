/*  hs_broker.c: hs-bus, the broker (docs/architecture.md §3).
 *
 *  Publishers connect to our XSUB socket, subscribers to our XPUB socket; every
 *  message goes to every subscriber whose prefix matches. Stateless: on restart
 *  everyone reconnects (ZeroMQ reconnects by itself) and resyncs.
 *
 *  We do not forward subscriptions upstream. Instead our XSUB subscribes to
 *  everything, once, so a publisher never drops a message for want of having
 *  heard a subscription yet, and filtering happens here, in XPUB.
 */
#include "hs_bus.h"
#include "hs_daemon.h"
#include "hs_lock.h"
#include "hs_log.h"
#include "hs_notify.h"
#include "hs_util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: hs-bus [--bind ADDR] [--port N] [--ipc DIR] [--hwm N]\n"
             "  --bind ADDR   interface to listen on (default *; use 127.0.0.1 for loopback only)\n"
             "  --port N      publishers connect to N, subscribers to N+1 (default 7400)\n"
             "  --ipc DIR     also listen on ipc://DIR/pub and ipc://DIR/sub\n"
             "  --hwm N       messages queued per peer before dropping (default %d)\n",
             HS_BUS_HWM);
}

typedef struct {
    const char *bind_addr, *ipc_dir;
    int port, hwm;
    int lock_fd;  /* --ipc DIR's lock (hs_lock.h) */
    bool serving; /* setup finished: listening */
    void *ctx, *xsub, *xpub;
    hs_loop_zsock_t *in, *subs;
    hs_loop_timer_t *hb;
    char instance[16];
    int64_t started_at;
    uint64_t msgs, bytes, batches, subs_seen, hb_seq;
    uint64_t dropped_oversized; /* messages over HS_BUS_MAX_MSG or HS_BUS_MAX_TOPIC */
} self_t;

static int s_bind (void *sock, const char *ep)
{
    if (zmq_bind (sock, ep) != 0) {
        int err = errno;
        if (err == EADDRINUSE)
            log_error ("cannot listen on %s: %s: another hs-bus (maybe another set's) or another "
                       "program has it; stop that one, or run this bus with another --port (it "
                       "takes N and N+1)",
                       ep, zmq_strerror (err));
        else
            log_error ("cannot listen on %s: %s", ep, zmq_strerror (err));
        return -err;
    }
    log_info ("listening on %s", ep);
    return 0;
}

static void s_heartbeat (self_t *self)
{
    Hs__Envelope env = HS__ENVELOPE__INIT;
    Hs__ComponentHeartbeat hb = HS__COMPONENT_HEARTBEAT__INIT;
    const char *names[] = {"forwarded_msgs", "forwarded_bytes", "received_batches",
                           "dropped_oversized"};
    const uint64_t values[] = {self->msgs, self->bytes, self->batches, self->dropped_oversized};
    Hs__Counter cs[HS_ARRAY_LEN (names)];
    Hs__Counter *cp[HS_ARRAY_LEN (names)];
    hs_heartbeat_counters (&hb, cs, cp, names, values, HS_ARRAY_LEN (names));
    char host[256] = "";
    gethostname (host, sizeof host - 1);
    char sender[64];
    snprintf (sender, sizeof sender, "hs-bus/%s", self->instance);
    hb.component = "hs-bus";
    hb.instance = self->instance;
    hb.host = host;
    hb.started_at_ns = self->started_at;
    hb.interval_ms = 1000;
    env.sender = sender;
    env.sender_seq = ++self->hb_seq;
    env.sent_at_ns = hs_now_ns ();
    env.body_case = HS__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    uint8_t buf[1024];
    size_t len = hs__envelope__get_packed_size (&env);
    if (len > sizeof buf) return;
    hs__envelope__pack (&env, buf);
    char topic[64];
    snprintf (topic, sizeof topic, "hb.bus.%s", self->instance);
    zmq_send (self->xpub, topic, strlen (topic), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (self->xpub, buf, len, ZMQ_DONTWAIT);
}

/* Whether a message of this topic and envelope is within the limits
 * (docs/protocol.md §4). An envelope over HS_BUS_MAX_MSG still goes on
 * cmd.*: hs-store answers it with an Invalid ack naming the limit, where
 * dropping it would leave its sender retrying for ever. */
static bool s_within_limits (const zmq_msg_t *topic, const zmq_msg_t *body)
{
    size_t tlen = zmq_msg_size (topic);
    if (tlen == 0 || tlen > HS_BUS_MAX_TOPIC) return false;
    if (!body || zmq_msg_size (body) <= HS_BUS_MAX_MSG) return true;
    return tlen > 4 && memcmp (zmq_msg_data ((zmq_msg_t *)topic), "cmd.", 4) == 0;
}

/* Counts a dropped message and logs it once per sender: the envelope's
 * sender if its first field is there to read (as every library packs it),
 * else the peer's address. */
static void s_drop (self_t *self, zmq_msg_t *topic, zmq_msg_t *body)
{
    self->dropped_oversized++;
    char who[160] = "";
    if (body && zmq_msg_size (body) > 2) {
        const uint8_t *p = zmq_msg_data (body);
        size_t len = zmq_msg_size (body), slen = 0, i = 1;
        for (int shift = 0; i < len && i < 6 && shift < 35; shift += 7, i++) {
            slen |= (size_t)(p[i] & 0x7f) << shift;
            if (!(p[i] & 0x80)) break;
        }
        i++;
        if (p[0] == (1 << 3 | 2) && slen > 0 && slen < 100 && i + slen <= len) {
            snprintf (who, sizeof who, "sender %.*s", (int)slen, (const char *)p + i);
            for (char *c = who; *c; c++)
                if (*c < 0x20 || *c > 0x7e) *c = '?';
        }
    }
    const char *peer = zmq_msg_gets (topic, "Peer-Address");
    if (!*who) snprintf (who, sizeof who, "peer %s", peer && *peer ? peer : "(local)");
    char key[200];
    snprintf (key, sizeof key, "bus:oversized:%s", who);
    size_t tlen = zmq_msg_size (topic);
    hs_log_once (HS_LOG_WARN, key,
                 "dropped a message from %s: topic of %zu bytes (at most %d), envelope of %zu "
                 "bytes (at most %d); counted in dropped_oversized, further ones not logged",
                 who, tlen, HS_BUS_MAX_TOPIC, body ? zmq_msg_size (body) : 0, HS_BUS_MAX_MSG);
}

/* Receives one frame; 0, or -errno (the message is closed then). */
static int s_recv_frame (self_t *self, zmq_msg_t *msg, int *more)
{
    zmq_msg_init (msg);
    if (zmq_msg_recv (msg, self->xsub, ZMQ_DONTWAIT) < 0) {
        int err = errno;
        zmq_msg_close (msg);
        return -err;
    }
    *more = zmq_msg_more (msg);
    self->bytes += zmq_msg_size (msg);
    return 0;
}

/* Sends (moves) msg on XPUB and closes it. XPUB never blocks: a slow
 * subscriber past its HWM loses messages, which the streams' sequences let
 * it detect. */
static void s_send_frame (self_t *self, zmq_msg_t *msg, bool more)
{
    zmq_msg_send (msg, self->xpub, more ? ZMQ_SNDMORE : 0);
    zmq_msg_close (msg);
}

/* Forwards a topic and its body (NULL: a lone frame) as one message, or
 * drops both when over the limits. Closes them. */
static void s_forward_pair (self_t *self, zmq_msg_t *topic, zmq_msg_t *body, bool more_after)
{
    if (!s_within_limits (topic, body)) {
        s_drop (self, topic, body);
        zmq_msg_close (topic);
        if (body) zmq_msg_close (body);
        return;
    }
    s_send_frame (self, topic, body != NULL || more_after);
    if (body) s_send_frame (self, body, more_after);
}

/* Moves one whole multi-frame message from XSUB to XPUB. A batch
 * (hs_bus_batch_begin, first frame HS_BUS_BATCH_TOPIC) goes out as the
 * two-frame messages it carries, in order; its frames are moved, not
 * copied. A batch with an odd frame count ends in a one-frame message,
 * which receivers count as garbage, as they would have unbatched. A
 * message (or a batch's pair) over the limits is dropped and counted. */
static int s_forward_one (self_t *self)
{
    zmq_msg_t first, second;
    int more = 0;
    int r = s_recv_frame (self, &first, &more);
    if (r < 0) return r;
    bool batch =
        more && zmq_msg_size (&first) == strlen (HS_BUS_BATCH_TOPIC) &&
        memcmp (zmq_msg_data (&first), HS_BUS_BATCH_TOPIC, strlen (HS_BUS_BATCH_TOPIC)) == 0;
    if (!batch) {
        if (!more) {
            s_forward_pair (self, &first, NULL, false);
        } else {
            if ((r = s_recv_frame (self, &second, &more)) < 0) {
                zmq_msg_close (&first);
                return r;
            }
            bool ok = s_within_limits (&first, &second);
            s_forward_pair (self, &first, &second, more && ok);
            /* Frames beyond two make it garbage, which its receivers count;
             * a dropped message's are drained. */
            while (more) {
                zmq_msg_t extra;
                if ((r = s_recv_frame (self, &extra, &more)) < 0) return r;
                if (ok)
                    s_send_frame (self, &extra, more);
                else
                    zmq_msg_close (&extra);
            }
        }
        self->msgs++;
        return 0;
    }
    zmq_msg_close (&first);
    self->batches++;
    self->bytes -= strlen (HS_BUS_BATCH_TOPIC);
    while (more) {
        if ((r = s_recv_frame (self, &first, &more)) < 0) return r;
        if (!more) {
            s_forward_pair (self, &first, NULL, false);
        } else {
            if ((r = s_recv_frame (self, &second, &more)) < 0) {
                zmq_msg_close (&first);
                return r;
            }
            s_forward_pair (self, &first, &second, false);
        }
        self->msgs++;
    }
    return 0;
}

/* Forwards a bounded batch, then lets the loop look again. */
static void s_on_publishers (void *arg)
{
    self_t *self = arg;
    for (int i = 0; i < 4096; i++)
        if (s_forward_one (self) < 0) break;
}

/* Subscriptions from subscribers: XPUB already filters by them; read them
 * so they do not queue up (bounded: forwarding must not starve). */
static void s_on_subscribers (void *arg)
{
    self_t *self = arg;
    for (int i = 0; i < 4096; i++) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        int n = zmq_msg_recv (&msg, self->xpub, ZMQ_DONTWAIT);
        zmq_msg_close (&msg);
        if (n < 0) break;
        self->subs_seen++;
    }
}

static void s_on_heartbeat (void *arg)
{
    self_t *self = arg;
    s_heartbeat (self);
    hs_loop_timer_set (self->hb, hs_mono_ns () + 1000000000LL);
}

static int s_flag (void *arg, int ch, const char *value)
{
    self_t *self = arg;
    int64_t v;
    switch (ch) {
    case 'b': self->bind_addr = value; return 0;
    case 'i': self->ipc_dir = value; return 0;
    case 'p':
        if (hs_daemon_int ("hs-bus", "--port", value, 1, 65534, &v) < 0) return -1;
        self->port = (int)v;
        return 0;
    case 'w':
        if (hs_daemon_int ("hs-bus", "--hwm", value, 1, 100000000, &v) < 0) return -1;
        self->hwm = (int)v;
        return 0;
    default: return -1;
    }
}

static int s_setup (void *arg, hs_loop_t *loop)
{
    self_t *self = arg;
    if (self->ipc_dir) {
        /* ZeroMQ replaces an ipc socket file that exists: without the lock a
         * second bus would silently take the first one's ipc clients. */
        pid_t holder = 0;
        int r = hs_lock_dir (self->ipc_dir, &self->lock_fd, &holder);
        if (r == -EBUSY) {
            char who[32];
            log_error ("the ipc dir %s is held by another hs-bus (%s); stop it first, or run this "
                       "one with another --ipc",
                       self->ipc_dir, hs_lock_who (holder, who, sizeof who));
            return 1;
        }
        if (r < 0) {
            log_error ("cannot lock the ipc dir %s: %s", self->ipc_dir, strerror (-r));
            return 1;
        }
    }
    hs_random_id (self->instance, 8);
    self->started_at = hs_now_ns ();
    self->ctx = zmq_ctx_new ();
    self->xsub = zmq_socket (self->ctx, ZMQ_XSUB);
    self->xpub = zmq_socket (self->ctx, ZMQ_XPUB);
    int linger = 0;
    zmq_setsockopt (self->xsub, ZMQ_RCVHWM, &self->hwm, sizeof self->hwm);
    zmq_setsockopt (self->xpub, ZMQ_SNDHWM, &self->hwm, sizeof self->hwm);
    zmq_setsockopt (self->xsub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (self->xpub, ZMQ_LINGER, &linger, sizeof linger);
    /* Between HS_BUS_MAX_MSG and HS_BUS_MAX_FRAME a message reaches
     * s_forward_one, which counts it, logs its sender once and drops it (or
     * forwards it on cmd.*, to be answered). Above HS_BUS_MAX_FRAME ZeroMQ
     * drops the connection, so memory stays bounded; the peer reconnects
     * and nobody else notices. */
    int64_t max = HS_BUS_MAX_FRAME;
    zmq_setsockopt (self->xsub, ZMQ_MAXMSGSIZE, &max, sizeof max);
    /* Subscribers only ever send subscriptions: one byte and a topic prefix.
     * Anything larger is a hostile peer, disconnected the same way. */
    int64_t max_sub = HS_BUS_MAX_TOPIC + 1;
    zmq_setsockopt (self->xpub, ZMQ_MAXMSGSIZE, &max_sub, sizeof max_sub);

    char ep[600];
    snprintf (ep, sizeof ep, "tcp://%s:%d", self->bind_addr, self->port);
    if (s_bind (self->xsub, ep) < 0) return 1;
    snprintf (ep, sizeof ep, "tcp://%s:%d", self->bind_addr, self->port + 1);
    if (s_bind (self->xpub, ep) < 0) return 1;
    if (self->ipc_dir) {
        snprintf (ep, sizeof ep, "ipc://%s/pub", self->ipc_dir);
        if (s_bind (self->xsub, ep) < 0) return 1;
        snprintf (ep, sizeof ep, "ipc://%s/sub", self->ipc_dir);
        if (s_bind (self->xpub, ep) < 0) return 1;
    }
    /* Subscribe-all upstream: XSUB replays it to every publisher that connects. */
    uint8_t suball = 1;
    zmq_send (self->xsub, &suball, 1, 0);
    self->in = hs_loop_zsock (loop, self->xsub, s_on_publishers, NULL, self);
    self->subs = hs_loop_zsock (loop, self->xpub, s_on_subscribers, NULL, self);
    if (!self->in || !self->subs) return 1;
    self->hb = hs_loop_timer (loop, hs_mono_ns (), s_on_heartbeat, self);
    self->serving = true;
    hs_notify_ready ("hs-bus forwarding");
    return 0;
}

static void s_teardown (void *arg)
{
    self_t *self = arg;
    /* a bus that never listened says nothing more than why */
    if (self->serving) log_info ("stopping after %llu messages", (unsigned long long)self->msgs);
    hs_loop_zsock_free (&self->in);
    hs_loop_zsock_free (&self->subs);
    hs_loop_timer_free (&self->hb);
    if (self->xsub) zmq_close (self->xsub);
    if (self->xpub) zmq_close (self->xpub);
    if (self->ctx) zmq_ctx_term (self->ctx);
    if (self->lock_fd >= 0) close (self->lock_fd);
}

static const struct option s_options[] = {
    {"bind", required_argument, 0, 'b'},
    {"port", required_argument, 0, 'p'},
    {"ipc", required_argument, 0, 'i'},
    {"hwm", required_argument, 0, 'w'},
    {0, 0, 0, 0},
};

static const hs_daemon_t s_daemon = {.name = "hs-bus",
                                     .usage = s_usage,
                                     .options = s_options,
                                     .shortopts = "b:p:i:w:",
                                     .flag = s_flag,
                                     .setup = s_setup,
                                     .teardown = s_teardown};

int main (int argc, char **argv)
{
    self_t self = {.bind_addr = "*", .port = HS_BUS_PORT, .hwm = HS_BUS_HWM, .lock_fd = -1};
    return hs_daemon_main (&s_daemon, &self, argc, argv);
}
