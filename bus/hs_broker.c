/*  hs_broker.c: hs-bus, the broker (docs/architecture.md §3).
 *
 *  Publishers connect to our XSUB socket, subscribers to our XPUB socket; every
 *  message goes to every subscriber whose prefix matches. Stateless: on restart
 *  everyone reconnects (ZeroMQ reconnects by itself) and resyncs.
 *
 *  We do not forward subscriptions upstream. Instead our XSUB subscribes to
 *  everything, once, so a publisher never drops a message for want of having
 *  heard a subscription yet, and filtering happens here, in XPUB.
 *
 *  Secured (--pki DIR; docs/architecture.md "The secured bus"): both sockets
 *  are CURVE servers with our keypair, and our own ZAP handler (in our own
 *  zmq context, on inproc://zeromq.zap.01, domain "hs", enforced) admits the
 *  keys of DIR/keys, putting the key in the connection's User-Id. Every
 *  message is then looked up by that key in the *current* key table and
 *  checked against hs_broker_policy: exactly two frames (or well-formed
 *  batch pairs), a topic its role may publish; cmd.* and the agents'
 *  replies (probres.*, execout.*, logs.*: hs_topic_is_stamped) go out with
 *  a third frame, the identity, which no publisher can forge because we
 *  decide the frame count. Refusals are counted (auth_refused, denied, malformed in our
 *  heartbeat) and logged once per identity and reason.
 */
#include "hs_broker_policy.h"
#include "hs_bus.h"
#include "hs_cred.h"
#include "hs_daemon.h"
#include "hs_lock.h"
#include "hs_log.h"
#include "hs_notify.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <zmq.h>

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* draft in libzmq 4.3.4's header, accepted by the library */
#endif
#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN   "hs"
#define SELFTEST_MS  5000

static void s_usage (FILE *f)
{
    fprintf (
        f,
        "usage: hs-bus (--pki DIR | --insecure) [--bind ADDR] [--port N] [--ipc DIR] [--hwm N]\n"
        "  --pki DIR     CURVE with DIR/broker.key_secret; admit the keys of DIR/keys/*.key\n"
        "                (reloaded on SIGHUP and when the directory changes)\n"
        "  --insecure    no authentication, no encryption (also HS_INSECURE=1)\n"
        "  --bind ADDR   interface to listen on (default *; use 127.0.0.1 for loopback only)\n"
        "  --port N      publishers connect to N, subscribers to N+1 (default 7400)\n"
        "  --ipc DIR     also listen on ipc://DIR/pub and ipc://DIR/sub\n"
        "  --hwm N       messages queued per peer before dropping (default %d)\n",
        HS_BUS_HWM);
}

typedef struct {
    const char *bind_addr, *ipc_dir, *pki_dir;
    bool insecure_flag;
    /* secured: our keypair, the key table, the ZAP handler, the reloads */
    bool secure;
    hs_cred_t *key;
    char *keys_dir;
    hs_keytab_t *keys;
    void *zap;
    hs_loop_zsock_t *zap_in;
    int inotify_fd;
    hs_loop_io_t *inotify_io;
    bool selftesting;
    void *mon[2]; /* handshake failures on XSUB and XPUB: plaintext peers */
    /* XPUB's endpoints as bound, and as zmq_unbind wants them (resolved) */
    char *sub_eps[2], *sub_eps_bound[2];
    hs_loop_timer_t *rebind; /* after a cut: binds XPUB's endpoints again */
    hs_loop_timer_t *expiry; /* at the next key's expiry: cut its subscription */
    int64_t expiry_seen_s;   /* keys expired up to here (unix s) were dealt with */
    int rebind_tries;
    bool unbound[2];
    zmq_msg_t *meta; /* while splitting a pack: its received frame, for User-Id and Peer-Address */
    int n_sub_eps;
    uint64_t subscriber_cuts;
    hs_loop_zsock_t *mon_in[2];
    uint64_t zap_requests, auth_refused, denied, malformed, key_reloads, handshake_failed;
    /* key files of the table loaded last that repeat another identity's key */
    uint64_t key_conflicts;
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
    const char *names[] = {
        "forwarded_msgs", "forwarded_bytes",  "received_batches", "dropped_oversized",
        "auth_refused",   "denied",           "malformed",        "keys",
        "key_reloads",    "handshake_failed", "subscriber_cuts",  "key_conflicts"};
    const uint64_t values[] = {self->msgs,
                               self->bytes,
                               self->batches,
                               self->dropped_oversized,
                               self->auth_refused,
                               self->denied,
                               self->malformed,
                               hs_keytab_size (self->keys),
                               self->key_reloads,
                               self->handshake_failed,
                               self->subscriber_cuts,
                               self->key_conflicts};
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
    const char *peer = zmq_msg_gets (self->meta ? self->meta : topic, "Peer-Address");
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

/* ------------------------------------------------------------ authorization */

/* The identity of the connection msg came from: its key (our ZAP handler's
 * User-Id) looked up in the current table, so a key removed since the
 * connection was made is refused now. NULL, with *ret_why, if unknown. */
static const hs_keytab_entry_t *s_who (self_t *self, zmq_msg_t *msg, const char **ret_why)
{
    const char *uid = zmq_msg_gets (msg, "User-Id");
    const hs_keytab_entry_t *e = hs_keytab_find (self->keys, uid);
    if (!e) {
        *ret_why = "revoked";
        return NULL;
    }
    if (e->expires && hs_keytab_expired (e, hs_now_ns () / 1000000000LL)) {
        *ret_why = "expired";
        return NULL;
    }
    return e;
}

/* Logs a refusal once per identity (or key) and reason. */
static void s_refused (self_t *self, zmq_msg_t *first, const hs_keytab_entry_t *who,
                       const char *reason, const char *what)
{
    if (self->meta) first = self->meta; /* a pack's pairs are made here: no properties */
    const char *uid = zmq_msg_gets (first, "User-Id");
    const char *peer = zmq_msg_gets (first, "Peer-Address");
    char name[HS_CRED_MAX_IDENTITY + 64];
    if (who)
        snprintf (name, sizeof name, "%s", who->identity);
    else
        snprintf (name, sizeof name, "key %.8s...", uid ? uid : "(none)");
    char key[HS_CRED_MAX_IDENTITY + 200];
    snprintf (key, sizeof key, "bus:%s:%s", reason, name);
    hs_log_once (HS_LOG_WARN, key,
                 "dropped a message from %s (peer %s): %s; further ones not logged", name,
                 peer && *peer ? peer : "(local)", what);
}

/* Whether who may publish this pair; counts and logs a refusal. */
static bool s_allowed (self_t *self, const hs_keytab_entry_t *who, zmq_msg_t *topic)
{
    const char *t = zmq_msg_data (topic);
    size_t len = zmq_msg_size (topic);
    if (hs_policy_may_publish (who, t, len)) return true;
    self->denied++;
    /* the reason: the topic's family, so one line per thing tried */
    size_t fam = 0;
    while (fam < len && fam < 40 && t[fam] != '.') fam++;
    char reason[64], what[HS_BUS_MAX_TOPIC + 128];
    snprintf (reason, sizeof reason, "denied:%.*s", (int)fam, t);
    for (char *c = reason; *c; c++)
        if (*c < 0x21 || *c > 0x7e) *c = '?';
    snprintf (what, sizeof what, "role %s may not publish on %.*s (counted in denied)",
              hs_cred_role_of (who->identity), (int)(len < 200 ? len : 200), t);
    for (char *c = what; *c; c++)
        if (*c < 0x20 || *c > 0x7e) *c = '?';
    s_refused (self, topic, who, reason, what);
    return false;
}

/* Forwards a topic and its body (NULL: a lone frame) as one message, or
 * drops both when over the limits. Closes them. Secured (who set): a
 * lone frame is malformed, the topic must be who's to publish, and a
 * stamped topic (cmd.*, the replies) gets who's identity as a third frame. */
static void s_forward_pair (self_t *self, const hs_keytab_entry_t *who, zmq_msg_t *topic,
                            zmq_msg_t *body, bool more_after)
{
    if (who && !body) {
        self->malformed++;
        s_refused (self, topic, who, "malformed",
                   "a message of one frame (a bus message is topic and envelope; counted in "
                   "malformed)");
        zmq_msg_close (topic);
        return;
    }
    if (who && !s_allowed (self, who, topic)) {
        zmq_msg_close (topic);
        zmq_msg_close (body);
        return;
    }
    if (!s_within_limits (topic, body)) {
        s_drop (self, topic, body);
        zmq_msg_close (topic);
        if (body) zmq_msg_close (body);
        return;
    }
    bool stamp = who && hs_topic_is_stamped (zmq_msg_data (topic), zmq_msg_size (topic));
    s_send_frame (self, topic, body != NULL || more_after);
    if (body) s_send_frame (self, body, more_after || stamp);
    if (stamp) zmq_send (self->xpub, who->identity, strlen (who->identity), 0);
}

/* Drains the rest of a message being dropped. */
static int s_drain (self_t *self, int more)
{
    while (more) {
        zmq_msg_t extra;
        int r = s_recv_frame (self, &extra, &more);
        if (r < 0) return r;
        zmq_msg_close (&extra);
    }
    return 0;
}

/* Reads a varint at *p (before end); false if it does not fit. */
static bool s_varint (const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
    uint64_t v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *ret = v;
            return true;
        }
    }
    return false;
}

/* A pack (hs_bus.h: [bus.packed, pack]) goes out as the two-frame messages
 * it holds, in order, each through the same checks as a message of its
 * own. A pack that does not parse is dropped from the first bad pair on
 * and counted malformed. Closes first. */
static int s_forward_packed (self_t *self, const hs_keytab_entry_t *who, zmq_msg_t *first)
{
    zmq_msg_t pack;
    int more = 0;
    int r = s_recv_frame (self, &pack, &more);
    if (r < 0) {
        zmq_msg_close (first);
        return r;
    }
    self->batches++;
    self->bytes -= strlen (HS_BUS_PACKED_TOPIC);
    self->meta = first;
    const uint8_t *p = zmq_msg_data (&pack), *end = p + zmq_msg_size (&pack);
    bool bad = more;
    while (!bad && p < end) {
        uint64_t tlen, blen;
        const uint8_t *t, *b;
        if (!s_varint (&p, end, &tlen) || tlen > (uint64_t)(end - p)) {
            bad = true;
            break;
        }
        t = p;
        p += tlen;
        if (!s_varint (&p, end, &blen) || blen > (uint64_t)(end - p)) {
            bad = true;
            break;
        }
        b = p;
        p += blen;
        zmq_msg_t tm, bm;
        zmq_msg_init_size (&tm, tlen);
        if (tlen) memcpy (zmq_msg_data (&tm), t, tlen);
        zmq_msg_init_size (&bm, blen);
        if (blen) memcpy (zmq_msg_data (&bm), b, blen);
        s_forward_pair (self, who, &tm, &bm, false);
        self->msgs++;
    }
    if (bad) {
        self->malformed++;
        s_refused (self, first, who, "malformed",
                   "a bus.packed message that does not parse (counted in malformed)");
    }
    self->meta = NULL;
    zmq_msg_close (&pack);
    zmq_msg_close (first);
    return s_drain (self, more);
}

/* Moves one whole multi-frame message from XSUB to XPUB. A batch
 * (hs_bus_batch_begin, first frame HS_BUS_BATCH_TOPIC) goes out as the
 * two-frame messages it carries, in order; its frames are moved, not
 * copied. A batch with an odd frame count ends in a one-frame message,
 * which receivers count as garbage, as they would have unbatched (secured:
 * dropped and counted malformed here, as is any message not of two
 * frames). A message (or a batch's pair) over the limits is dropped and
 * counted. */
static int s_forward_one (self_t *self)
{
    zmq_msg_t first, second;
    int more = 0;
    int r = s_recv_frame (self, &first, &more);
    if (r < 0) return r;
    const hs_keytab_entry_t *who = NULL;
    if (self->secure) {
        const char *why = NULL;
        if (!(who = s_who (self, &first, &why))) {
            self->denied++;
            s_refused (self, &first, NULL, why,
                       strcmp (why, "expired") == 0
                           ? "its key has expired (counted in denied)"
                           : "its key is not in the key directory (revoked; counted in denied)");
            zmq_msg_close (&first);
            self->msgs++;
            return s_drain (self, more);
        }
    }
    if (more && zmq_msg_size (&first) == strlen (HS_BUS_PACKED_TOPIC) &&
        memcmp (zmq_msg_data (&first), HS_BUS_PACKED_TOPIC, strlen (HS_BUS_PACKED_TOPIC)) == 0)
        return s_forward_packed (self, who, &first);
    bool batch =
        more && zmq_msg_size (&first) == strlen (HS_BUS_BATCH_TOPIC) &&
        memcmp (zmq_msg_data (&first), HS_BUS_BATCH_TOPIC, strlen (HS_BUS_BATCH_TOPIC)) == 0;
    if (!batch) {
        if (!more) {
            s_forward_pair (self, who, &first, NULL, false);
        } else {
            if ((r = s_recv_frame (self, &second, &more)) < 0) {
                zmq_msg_close (&first);
                return r;
            }
            if (who && more) {
                /* three frames or more: a forged stamp, or garbage */
                self->malformed++;
                s_refused (self, &first, who, "malformed",
                           "a message of more than two frames (a self-made stamp?); counted in "
                           "malformed");
                zmq_msg_close (&first);
                zmq_msg_close (&second);
                self->msgs++;
                return s_drain (self, more);
            }
            bool ok = s_within_limits (&first, &second);
            s_forward_pair (self, who, &first, &second, more && ok);
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
            s_forward_pair (self, who, &first, NULL, false);
        } else {
            if ((r = s_recv_frame (self, &second, &more)) < 0) {
                zmq_msg_close (&first);
                return r;
            }
            s_forward_pair (self, who, &first, &second, false);
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

/* ------------------------------------------------------------ keys and ZAP */

/* XPUB has no per-peer disconnect: to cut a revoked key's subscription,
 * unbind every XPUB endpoint (which closes the connections made on it) and
 * bind it again. Every subscriber reconnects in RECONNECT_IVL and
 * resubscribes (messages meanwhile are lost, as on a bus restart, which the
 * streams' sequences let clients see); the revoked one fails at ZAP. */
static void s_cut_subscribers (self_t *self, size_t gone)
{
    if (!self->serving || !self->rebind) return;
    for (int i = 0; i < self->n_sub_eps; i++) {
        if (self->unbound[i]) continue; /* a cut under way */
        if (zmq_unbind (self->xpub, self->sub_eps_bound[i]) == 0)
            self->unbound[i] = true;
        else
            log_warn ("cannot unbind %s: %s", self->sub_eps_bound[i], zmq_strerror (errno));
    }
    self->subscriber_cuts++;
    self->rebind_tries = 0;
    /* the listener closes in ZeroMQ's I/O thread: bind again when it has */
    hs_loop_timer_set (self->rebind, hs_mono_ns ());
    log_warn ("%zu key(s) removed or expired: every subscriber was disconnected to reconnect, "
              "which a revoked key cannot",
              gone);
}

static void s_on_rebind (void *arg)
{
    self_t *self = arg;
    bool pending = false;
    for (int i = 0; i < self->n_sub_eps; i++) {
        if (!self->unbound[i]) continue;
        if (zmq_bind (self->xpub, self->sub_eps[i]) == 0) {
            self->unbound[i] = false;
        } else if (errno == EADDRINUSE && self->rebind_tries < 500) {
            pending = true;
        } else {
            log_error ("cannot listen on %s again after a revocation: %s; subscribers cannot "
                       "connect until hs-bus restarts",
                       self->sub_eps[i], zmq_strerror (errno));
            self->unbound[i] = false;
        }
    }
    if (pending) {
        self->rebind_tries++;
        hs_loop_timer_set (self->rebind, hs_mono_ns () + 10000000LL);
    } else if (self->rebind_tries > 0) {
        log_info ("listening for subscribers again after %d ms", self->rebind_tries * 10);
    }
}

static void s_on_bad_key (const char *path, const char *why, void *arg)
{
    (void)path;
    (void)arg;
    log_warn ("ignoring %s", why);
}

static void s_on_key_conflict (const char *first_name, const char *first_identity,
                               const hs_cred_key_t *again, void *arg)
{
    size_t *conflicts = arg;
    (*conflicts)++;
    log_error ("REFUSING public key %.8s...: it is in %s.key as %s and in %s.key as %s; no "
               "identity gets it until one file goes (hsctl keys revoke NAME; counted in "
               "key_conflicts)",
               again->public_key, first_name, first_identity, again->name, again->identity);
}

/* The expiry timer at the next expiry after expiry_seen_s, or off. */
static void s_arm_expiry (self_t *self)
{
    if (!self->expiry) return;
    int64_t next = hs_keytab_next_expiry (self->keys, self->expiry_seen_s);
    if (!next) {
        hs_loop_timer_set (self->expiry, HS_NEVER);
        return;
    }
    /* a key has expired from the start of its second on
     * (hs_keytab_expired): look just after it, on the monotonic clock */
    int64_t now_ns = hs_now_ns (), in_ns = next * 1000000000LL - now_ns + 1000000LL;
    hs_loop_timer_set (self->expiry, hs_mono_ns () + (in_ns > 0 ? in_ns : 0));
}

/* (Re)loads the key table from keys_dir. On failure the old table stays. */
static int s_load_keys (self_t *self, const char *why)
{
    hs_cred_key_t *keys = NULL;
    size_t n = 0, dups = 0;
    int r = hs_cred_key_list (self->keys_dir, s_on_bad_key, self, &keys, &n);
    if (r < 0) {
        log_error ("cannot read the key directory %s: %s%s", self->keys_dir, strerror (-r),
                   self->keys ? "; keeping the keys loaded before" : "");
        return r;
    }
    size_t conflicts = 0;
    hs_keytab_t *table = hs_keytab_new (keys, n, &dups, s_on_key_conflict, &conflicts);
    self->key_conflicts = conflicts;
    /* a key gone (or now expired) may still have a SUB connection open; one
     * expired before (a spent join token stays in keys/) was cut then */
    int64_t now_s = hs_now_ns () / 1000000000LL;
    size_t gone = hs_keytab_gone (self->keys, table, now_s);
    if (dups)
        log_warn ("%zu key file(s) in %s left out of the key table (a bad role or key, a copy "
                  "of another file's key, or a key under two identities)",
                  dups, self->keys_dir);
    hs_keytab_destroy (&self->keys);
    self->keys = table;
    free (keys);
    self->key_reloads++;
    log_info ("%s: %zu key(s) from %s", why, hs_keytab_size (self->keys), self->keys_dir);
    if (gone) s_cut_subscribers (self, gone);
    self->expiry_seen_s = now_s;
    s_arm_expiry (self);
    return 0;
}

/* A key expired since we last looked: it may still be subscribed. */
static void s_on_expiry (void *arg)
{
    self_t *self = arg;
    int64_t now_s = hs_now_ns () / 1000000000LL;
    size_t n = hs_keytab_expired_between (self->keys, self->expiry_seen_s, now_s);
    if (n > 0) {
        self->expiry_seen_s = now_s;
        s_cut_subscribers (self, n);
    }
    s_arm_expiry (self); /* early (clocks): the same key again */
}

static void s_on_hup (void *arg, int signo)
{
    (void)signo;
    s_load_keys (arg, "SIGHUP");
}

static void s_on_inotify (void *arg, int fd, uint32_t revents)
{
    self_t *self = arg;
    (void)revents;
    char buf[4096] __attribute__ ((aligned (__alignof__(struct inotify_event))));
    bool changed = false;
    while (read (fd, buf, sizeof buf) > 0) changed = true;
    if (changed) s_load_keys (self, "key directory changed");
}

/* One ZAP request (RFC 27): version, request id, domain, address, routing
 * id, mechanism, then the client's 32-byte CURVE public key. Admits a key
 * of the table that has not expired, with the key (Z85) as User-Id. */
static void s_zap_one (self_t *self, zmq_msg_t *f, size_t n)
{
    const char *status = "400", *text = "unknown key";
    char z85[HS_CRED_Z85_LEN + 1] = "";
    const hs_keytab_entry_t *e = NULL;
    if (n < 6 || zmq_msg_size (&f[0]) != 3 || memcmp (zmq_msg_data (&f[0]), "1.0", 3) != 0) {
        status = "500";
        text = "bad ZAP request";
    } else if (zmq_msg_size (&f[2]) != strlen (ZAP_DOMAIN) ||
               memcmp (zmq_msg_data (&f[2]), ZAP_DOMAIN, strlen (ZAP_DOMAIN)) != 0) {
        text = "wrong domain";
    } else if (n != 7 || zmq_msg_size (&f[5]) != 5 ||
               memcmp (zmq_msg_data (&f[5]), "CURVE", 5) != 0 || zmq_msg_size (&f[6]) != 32) {
        text = "CURVE only";
    } else {
        zmq_z85_encode (z85, zmq_msg_data (&f[6]), 32);
        e = hs_keytab_find (self->keys, z85);
        if (e && hs_keytab_expired (e, hs_now_ns () / 1000000000LL)) {
            text = "expired key";
            e = NULL;
        } else if (e) {
            status = "200";
            text = "OK";
        }
    }
    self->zap_requests++;
    if (!e && !self->selftesting) {
        self->auth_refused++;
        char addr[64] = "?";
        if (n > 3)
            snprintf (addr, sizeof addr, "%.*s",
                      (int)(zmq_msg_size (&f[3]) < 60 ? zmq_msg_size (&f[3]) : 60),
                      (const char *)zmq_msg_data (&f[3]));
        char key[128];
        snprintf (key, sizeof key, "bus:auth:%s:%s", z85, text);
        hs_log_once (HS_LOG_WARN, key,
                     "refused a connection from %s: %s %.8s... (counted in auth_refused, further "
                     "ones not logged)",
                     addr, text, *z85 ? z85 : "(no CURVE key)");
    }
    /* reply: version, request id, status, text, user id, metadata */
    zmq_send (self->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send (self->zap, n > 1 ? zmq_msg_data (&f[1]) : "", n > 1 ? zmq_msg_size (&f[1]) : 0,
              ZMQ_SNDMORE);
    zmq_send (self->zap, status, 3, ZMQ_SNDMORE);
    zmq_send (self->zap, text, strlen (text), ZMQ_SNDMORE);
    zmq_send (self->zap, e ? z85 : "", e ? HS_CRED_Z85_LEN : 0, ZMQ_SNDMORE);
    zmq_send (self->zap, "", 0, 0);
}

static void s_on_zap (void *arg)
{
    self_t *self = arg;
    for (int i = 0; i < 256; i++) {
        zmq_msg_t f[8];
        size_t n = 0;
        int more = 1;
        zmq_msg_init (&f[0]);
        if (zmq_msg_recv (&f[0], self->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&f[0]);
            return;
        }
        n = 1;
        more = zmq_msg_more (&f[0]);
        while (more) {
            zmq_msg_t extra, *m = n < 8 ? &f[n] : &extra;
            zmq_msg_init (m);
            if (zmq_msg_recv (m, self->zap, 0) < 0) {
                zmq_msg_close (m);
                break;
            }
            more = zmq_msg_more (m);
            if (m == &extra)
                zmq_msg_close (m);
            else
                n++;
        }
        s_zap_one (self, f, n);
        for (size_t k = 0; k < n; k++) zmq_msg_close (&f[k]);
    }
}

/* A handshake that failed other than by ZAP (which s_zap_one counts): a
 * plaintext peer (mechanism mismatch) or a CURVE peer that does not have
 * our public key. Counted in handshake_failed, logged once per address. */
static void s_on_monitor (void *arg, int i)
{
    self_t *self = arg;
    for (int k = 0; k < 256; k++) {
        zmq_msg_t ev, addr;
        zmq_msg_init (&ev);
        if (zmq_msg_recv (&ev, self->mon[i], ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&ev);
            return;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size (&ev) >= 6) {
            memcpy (&event, zmq_msg_data (&ev), 2);
            memcpy (&value, (uint8_t *)zmq_msg_data (&ev) + 2, 4);
        }
        zmq_msg_close (&ev);
        zmq_msg_init (&addr);
        zmq_msg_recv (&addr, self->mon[i], 0);
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
            event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            self->handshake_failed++;
            const char *what = value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
                                   ? "a plaintext (not CURVE) client"
                                   : "a handshake that failed (a client without our public key?)";
            char key[64];
            snprintf (key, sizeof key, "bus:handshake:%u", (unsigned)value);
            hs_log_once (HS_LOG_WARN, key,
                         "refused %s on the %s socket (counted in handshake_failed, further ones "
                         "not logged)",
                         what, i == 0 ? "publish" : "subscribe");
        }
        zmq_msg_close (&addr);
    }
}

static void s_on_monitor_pub (void *arg)
{
    s_on_monitor (arg, 0);
}

static void s_on_monitor_sub (void *arg)
{
    s_on_monitor (arg, 1);
}

/* Makes sock a CURVE server with our key, under our enforced ZAP domain.
 * Before binding: ZeroMQ takes the mechanism at each bind. */
static int s_secure_socket (self_t *self, void *sock)
{
    int one = 1;
    bool fault = getenv ("HS_BUS_FAULT_NO_ZAP") != NULL; /* tests: what the self-test catches */
    if (zmq_setsockopt (sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, self->key->secret_key, HS_CRED_Z85_LEN + 1) !=
            0 ||
        zmq_setsockopt (sock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen (ZAP_DOMAIN)) != 0)
        return -errno;
    if (!fault && zmq_setsockopt (sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0) {
        int err = errno;
        log_error ("this libzmq refuses ZMQ_ZAP_ENFORCE_DOMAIN (%s): without it a missing ZAP "
                   "handler would admit any key; hs-bus needs libzmq 4.3 or later",
                   zmq_strerror (err));
        return -err;
    }
    return 0;
}

/* Before we say ready: a client with a key of no file must be refused by
 * our ZAP handler. If it is admitted, authentication is off (no handler,
 * domain not enforced) and we refuse to run. */
static int s_selftest (self_t *self, const char *tcp_ep)
{
    char ep[600];
    snprintf (ep, sizeof ep, "%s", tcp_ep);
    char *any = strstr (ep, "://0.0.0.0:");
    if (any) {
        memmove (any + 3 + 9, any + 3 + 7, strlen (any + 3 + 7) + 1);
        memcpy (any + 3, "127.0.0.1", 9);
    }
    char pub[HS_CRED_Z85_LEN + 1], sec[HS_CRED_Z85_LEN + 1];
    if (zmq_curve_keypair (pub, sec) != 0) {
        log_error ("self-test: cannot make a key: %s", zmq_strerror (errno));
        return -1;
    }
    void *ctx = zmq_ctx_new ();
    void *c = zmq_socket (ctx, ZMQ_PUB);
    int linger = 0;
    zmq_setsockopt (c, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (c, ZMQ_CURVE_SERVERKEY, self->key->public_key, HS_CRED_Z85_LEN + 1);
    zmq_setsockopt (c, ZMQ_CURVE_PUBLICKEY, pub, sizeof pub);
    zmq_setsockopt (c, ZMQ_CURVE_SECRETKEY, sec, sizeof sec);
    zmq_socket_monitor (c, "inproc://hs-bus-selftest",
                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    void *mon = zmq_socket (ctx, ZMQ_PAIR);
    zmq_connect (mon, "inproc://hs-bus-selftest");
    zmq_connect (c, ep);
    self->selftesting = true;
    uint64_t zap_before = self->zap_requests;
    int rc = 1; /* 1: no verdict yet */
    int64_t deadline = hs_mono_ns () + (int64_t)SELFTEST_MS * 1000000;
    while (rc == 1 && hs_mono_ns () < deadline) {
        zmq_pollitem_t items[] = {{self->zap, 0, ZMQ_POLLIN, 0}, {mon, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll (items, 2, 50) < 0 && errno != EINTR) break;
        if (items[0].revents & ZMQ_POLLIN) s_on_zap (self);
        if (!(items[1].revents & ZMQ_POLLIN)) continue;
        zmq_msg_t ev;
        zmq_msg_init (&ev);
        if (zmq_msg_recv (&ev, mon, 0) < 0) {
            zmq_msg_close (&ev);
            continue;
        }
        uint16_t event = 0;
        if (zmq_msg_size (&ev) >= 2) memcpy (&event, zmq_msg_data (&ev), 2);
        bool more = zmq_msg_more (&ev);
        zmq_msg_close (&ev);
        while (more) {
            zmq_msg_init (&ev);
            more = zmq_msg_recv (&ev, mon, 0) >= 0 && zmq_msg_more (&ev);
            zmq_msg_close (&ev);
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            rc = -1;
        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && self->zap_requests > zap_before)
            rc = 0;
        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
                 event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
                 event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            rc = -2;
    }
    self->selftesting = false;
    zmq_socket_monitor (c, NULL, 0);
    zmq_close (mon);
    zmq_close (c);
    zmq_ctx_term (ctx);
    if (rc == 0) {
        log_info ("self-test: a key not in %s was refused by our ZAP handler", self->keys_dir);
        return 0;
    }
    if (rc == -1)
        log_error ("self-test FAILED: a client with an unregistered key was admitted at %s: "
                   "authentication is not in force (no ZAP handler, domain not enforced); refusing "
                   "to serve",
                   ep);
    else if (rc == -2)
        log_error ("self-test FAILED: a client with an unregistered key was refused at %s, but not "
                   "by our ZAP handler; refusing to serve",
                   ep);
    else
        log_error ("self-test FAILED: no handshake verdict from %s within %d ms; refusing to serve",
                   ep, SELFTEST_MS);
    return -1;
}

/* The secured part of setup: our key, the key table, the ZAP handler, the
 * reloads. Before any bind. */
static int s_setup_secure (self_t *self, hs_loop_t *loop)
{
    char err[1024];
    _cleanup_free_ char *kpath = hs_sprintf ("%s/broker.key_secret", self->pki_dir);
    int r = hs_cred_broker_load (kpath, err, sizeof err, &self->key);
    if (r < 0) {
        log_error ("%s (make it with `hsctl init --pki %s`)", err, self->pki_dir);
        return -1;
    }
    self->keys_dir = hs_sprintf ("%s/keys", self->pki_dir);
    if (s_load_keys (self, "loaded") < 0) return -1;
    self->zap = zmq_socket (self->ctx, ZMQ_REP);
    int linger = 0;
    zmq_setsockopt (self->zap, ZMQ_LINGER, &linger, sizeof linger);
    if (!getenv ("HS_BUS_FAULT_NO_ZAP") && zmq_bind (self->zap, ZAP_ENDPOINT) != 0) {
        log_error ("cannot bind the ZAP handler on %s: %s", ZAP_ENDPOINT, zmq_strerror (errno));
        return -1;
    }
    if (s_secure_socket (self, self->xsub) < 0 || s_secure_socket (self, self->xpub) < 0) {
        log_error ("cannot make the bus sockets CURVE servers: %s", zmq_strerror (errno));
        return -1;
    }
    void *socks[2] = {self->xsub, self->xpub};
    hs_loop_fn *fns[2] = {s_on_monitor_pub, s_on_monitor_sub};
    for (int i = 0; i < 2; i++) {
        char ep[64];
        snprintf (ep, sizeof ep, "inproc://hs-bus-monitor-%d", i);
        if (zmq_socket_monitor (socks[i], ep,
                                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
            continue;
        self->mon[i] = zmq_socket (self->ctx, ZMQ_PAIR);
        if (zmq_connect (self->mon[i], ep) == 0)
            self->mon_in[i] = hs_loop_zsock (loop, self->mon[i], fns[i], NULL, self);
    }
    self->rebind = hs_loop_timer (loop, HS_NEVER, s_on_rebind, self);
    self->expiry = hs_loop_timer (loop, HS_NEVER, s_on_expiry, self);
    s_arm_expiry (self);
    if (hs_loop_signal (loop, SIGHUP, s_on_hup, self) < 0) return -1;
    self->inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
    if (self->inotify_fd < 0 ||
        inotify_add_watch (self->inotify_fd, self->keys_dir,
                           IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                               IN_DELETE_SELF | IN_ATTRIB) < 0) {
        log_warn ("cannot watch %s (%s): keys reload on SIGHUP only", self->keys_dir,
                  strerror (errno));
    } else {
        self->inotify_io = hs_loop_io (loop, self->inotify_fd, EPOLLIN, s_on_inotify, self);
    }
    log_info ("secured: CURVE, broker key %s, ZAP domain \"%s\" enforced", self->key->public_key,
              ZAP_DOMAIN);
    return 0;
}

static int s_flag (void *arg, int ch, const char *value)
{
    self_t *self = arg;
    int64_t v;
    switch (ch) {
    case 'b': self->bind_addr = value; return 0;
    case 'k': self->pki_dir = value; return 0;
    case 'I': self->insecure_flag = true; return 0;
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

/* Remembers an XPUB endpoint just bound, for s_cut_subscribers. */
static void s_note_sub_ep (self_t *self, const char *ep)
{
    if (self->n_sub_eps >= 2) return;
    char last[600];
    size_t len = sizeof last;
    if (zmq_getsockopt (self->xpub, ZMQ_LAST_ENDPOINT, last, &len) != 0)
        snprintf (last, sizeof last, "%s", ep);
    self->sub_eps[self->n_sub_eps] = hs_strdup (ep);
    self->sub_eps_bound[self->n_sub_eps++] = hs_strdup (last);
}

static int s_check (void *arg, int argc, char **argv)
{
    self_t *self = arg;
    (void)argv;
    if (argc > 0) {
        fprintf (stderr, "hs-bus: unexpected argument\n");
        return -1;
    }
    const char *env = getenv ("HS_INSECURE");
    bool env_insecure = !hs_empty (env) && strcmp (env, "0") != 0;
    if (self->pki_dir && self->insecure_flag) {
        fprintf (stderr, "hs-bus: --pki and --insecure exclude each other\n");
        return -1;
    }
    if (!self->pki_dir && !self->insecure_flag && !env_insecure) {
        fprintf (stderr, "hs-bus: no --pki DIR: give the PKI directory `hsctl init` made "
                         "(broker.key_secret, keys/), or --insecure (HS_INSECURE=1) to run without "
                         "authentication or encryption\n");
        return -1;
    }
    self->secure = self->pki_dir != NULL;
    return 0;
}

static int s_setup (void *arg, hs_loop_t *loop)
{
    self_t *self = arg;
    if (!self->secure)
        log_warn ("INSECURE BUS: no authentication, no encryption (%s): anyone who can reach port "
                  "%d can read every object and write anything",
                  self->insecure_flag ? "--insecure" : "HS_INSECURE", self->port);
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
    if (self->secure && s_setup_secure (self, loop) < 0) return 1;

    char ep[600], tcp_ep[600] = "";
    snprintf (ep, sizeof ep, "tcp://%s:%d", self->bind_addr, self->port);
    if (s_bind (self->xsub, ep) < 0) return 1;
    size_t ep_len = sizeof tcp_ep;
    zmq_getsockopt (self->xsub, ZMQ_LAST_ENDPOINT, tcp_ep, &ep_len);
    snprintf (ep, sizeof ep, "tcp://%s:%d", self->bind_addr, self->port + 1);
    if (s_bind (self->xpub, ep) < 0) return 1;
    s_note_sub_ep (self, ep);
    if (self->ipc_dir) {
        snprintf (ep, sizeof ep, "ipc://%s/pub", self->ipc_dir);
        if (s_bind (self->xsub, ep) < 0) return 1;
        snprintf (ep, sizeof ep, "ipc://%s/sub", self->ipc_dir);
        if (s_bind (self->xpub, ep) < 0) return 1;
        s_note_sub_ep (self, ep);
    }
    /* Subscribe-all upstream: XSUB replays it to every publisher that connects. */
    uint8_t suball = 1;
    zmq_send (self->xsub, &suball, 1, 0);
    if (self->secure) {
        if (s_selftest (self, tcp_ep) < 0) return 1;
        self->zap_in = hs_loop_zsock (loop, self->zap, s_on_zap, NULL, self);
        if (!self->zap_in) return 1;
    }
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
    hs_loop_zsock_free (&self->zap_in);
    hs_loop_timer_free (&self->rebind);
    hs_loop_timer_free (&self->expiry);
    for (int i = 0; i < 2; i++) {
        hs_loop_zsock_free (&self->mon_in[i]);
        if (self->mon[i]) {
            zmq_socket_monitor (i == 0 ? self->xsub : self->xpub, NULL, 0);
            zmq_close (self->mon[i]);
        }
    }
    hs_loop_io_free (&self->inotify_io);
    if (self->inotify_fd >= 0) close (self->inotify_fd);
    if (self->zap) zmq_close (self->zap);
    hs_keytab_destroy (&self->keys);
    free (self->keys_dir);
    for (int i = 0; i < self->n_sub_eps; i++) {
        free (self->sub_eps[i]);
        free (self->sub_eps_bound[i]);
    }
    if (self->key) explicit_bzero (self->key, sizeof *self->key);
    free (self->key);
    hs_loop_timer_free (&self->hb);
    if (self->xsub) zmq_close (self->xsub);
    if (self->xpub) zmq_close (self->xpub);
    if (self->ctx) zmq_ctx_term (self->ctx);
    if (self->lock_fd >= 0) close (self->lock_fd);
}

static const struct option s_options[] = {
    {"bind", required_argument, 0, 'b'},
    {"pki", required_argument, 0, 'k'},
    {"insecure", no_argument, 0, 'I'},
    {"port", required_argument, 0, 'p'},
    {"ipc", required_argument, 0, 'i'},
    {"hwm", required_argument, 0, 'w'},
    {0, 0, 0, 0},
};

static const hs_daemon_t s_daemon = {.name = "hs-bus",
                                     .usage = s_usage,
                                     .options = s_options,
                                     .shortopts = "b:p:i:w:",
                                     .check = s_check,
                                     .flag = s_flag,
                                     .setup = s_setup,
                                     .teardown = s_teardown};

int main (int argc, char **argv)
{
    self_t self = {
        .bind_addr = "*", .port = HS_BUS_PORT, .hwm = HS_BUS_HWM, .lock_fd = -1, .inotify_fd = -1};
    return hs_daemon_main (&s_daemon, &self, argc, argv);
}
