/*  hs_bus.h: a component's connection to the Homeostat bus (docs/architecture.md §3).
 *
 *  Every component holds one PUB socket connected to hs-bus's XSUB side and
 *  one SUB socket connected to its XPUB side. A bus message is two frames:
 *  topic, then one serialized hs.Envelope.
 *
 *  Addresses (`--bus` or HS_BUS), all meaning the pair of broker sockets:
 *    HOST            tcp://HOST:7400 (publish) and tcp://HOST:7401 (subscribe)
 *    HOST:PORT       tcp://HOST:PORT and tcp://HOST:PORT+1
 *    ipc://DIR       ipc://DIR/pub and ipc://DIR/sub
 *  Default: 127.0.0.1:7400.
 *
 *  Several brokers: a comma-separated list of such addresses (HS_BUS=
 *  tcp://10.0.0.1:7400,tcp://10.0.0.2:7400; up to HS_BUS_MAX_BROKERS).
 *  The PUB socket connects to every broker, so every broker carries every
 *  message; the SUB socket connects to ONE broker at a time, so nothing is
 *  received twice (short of a message that reached the new broker late,
 *  just after a move: the layers above drop repeats), and moves to the next one in the list (round robin)
 *  when its broker goes quiet: the connection closes (a killed broker), or
 *  no ZMTP heartbeat comes back for HS_BUS_QUIET_MS (a hung or unreachable
 *  one; every connection pings every HS_BUS_PING_MS), or a new connection
 *  has not completed its handshake within HS_BUS_CONNECT_MS. That traffic
 *  is libzmq's own, so a raw hs_bus user fails over too, with no topic to
 *  subscribe; it only has to let hs_bus_check run (hs_bus_wait and every
 *  receive that waits call it; an owner polling hs_bus_sub_socket itself
 *  calls it at least every HS_BUS_CHECK_MS). ZeroMQ re-sends the
 *  subscriptions on the new connection. Messages published while the SUB
 *  socket was moving are lost for this subscriber, as on any lost
 *  connection: hs_client's sequence, heartbeat and epoch checks resync its
 *  watches, and it resends unacked commands once the new connection is up
 *  (hs_bus_links). With one broker nothing of this runs: no heartbeats, no
 *  monitor, the sockets are what they always were. In secure mode every
 *  broker must hold the same keypair (the credential pins one broker-key)
 *  and the same client policy.
 *
 *  Limits, chosen deliberately (docs/protocol.md §4 lists every one):
 *    HS_BUS_MAX_MSG     4 MiB per envelope; larger ones are refused on send
 *                       (-EMSGSIZE) and counted as garbage on receive, except
 *                       where a receiver asks for them (hs_bus_recv_sized:
 *                       hs-store answers an oversized command).
 *    HS_BUS_MAX_FRAME   8 MiB: ZMQ_MAXMSGSIZE at hs-bus and on every SUB. A
 *                       frame above it makes ZeroMQ drop the connection, so
 *                       memory stays bounded; between the two limits hs-bus
 *                       still sees the message, forwards it on cmd.* (the
 *                       store answers it) and drops and counts it elsewhere.
 *    HS_BUS_MAX_TOPIC   1024 bytes of printable ASCII: the longest event
 *                       topic of valid names (253-byte node and name, 63-byte
 *                       namespace) is under 600.
 *    HS_BUS_HWM         100,000 messages queued per socket before ZeroMQ drops.
 *  Instances (client ids) are hs_topic_id_ok: printable, no '/', at most
 *  HS_TOPIC_MAX_ID bytes.
 */
#ifndef HS_BUS_H
#define HS_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/uio.h>

#include "hs_cred.h"
#include "hs_loop.h"
#include "hs_pb.h"

#define HS_BUS_DEFAULT   "127.0.0.1:7400"
#define HS_BUS_PORT      7400
#define HS_BUS_MAX_MSG   (4 * 1024 * 1024)
#define HS_BUS_MAX_FRAME (2 * HS_BUS_MAX_MSG)
#define HS_BUS_MAX_TOPIC 1024
#define HS_BUS_HWM       100000

#define HS_BUS_MAX_BROKERS 8
#define HS_BUS_PING_MS     150 /* ZMTP heartbeat interval, several brokers only */
#define HS_BUS_QUIET_MS    500 /* no answer to a heartbeat for this long: gone */
#define HS_BUS_CONNECT_MS  500 /* a new SUB connection not up after this: next */
#define HS_BUS_CHECK_MS    100 /* how often hs_bus_check should run */

typedef struct hs_bus_t hs_bus_t;

/* One broker's two endpoints. */
typedef struct {
    char pub[512];
    char sub[512];
} hs_bus_ep_t;

/* Why a received message was refused. */
typedef enum {
    HS_GARBAGE_FRAMES = 0, /* not exactly two frames */
    HS_GARBAGE_TOPIC,      /* empty, too long, or not printable ASCII */
    HS_GARBAGE_OVERSIZED,  /* envelope above HS_BUS_MAX_MSG */
    HS_GARBAGE_DECODE,     /* not a valid hs.Envelope */
    HS_GARBAGE_BODY,       /* an Envelope with no body this schema knows */
    HS_GARBAGE_STAMP,      /* a stamped topic (cmd.*, the agents' replies) without
                              hs-bus's identity stamp (secure mode), or a stamp that
                              is not an identity */
    HS_GARBAGE__COUNT
} hs_garbage_t;

/* Resolves an address (see above) into the two endpoints. 0 or -EINVAL.
 * addr NULL or "": $HS_BUS, then HS_BUS_DEFAULT. A list resolves to its
 * first broker (after the whole list is checked). */
int hs_bus_endpoints (const char *addr, char *ret_pub, char *ret_sub, size_t len);
/* Resolves an address or a comma-separated list of them (spaces around an
 * element are ignored) into at most max brokers' endpoints. The count
 * (>= 1), or -EINVAL with err (may be NULL) naming the bad element and
 * why. addr NULL or "": as hs_bus_endpoints. */
int hs_bus_endpoints_list (const char *addr, hs_bus_ep_t *ret, size_t max, char *err,
                           size_t err_len);

/* Security (notes/security.md §2, docs/architecture.md "The secured bus").
 * Every connection is CURVE with the broker's public key pinned, using the
 * credential (hs_cred.h) named by hs_bus_use_credential or else
 * $HS_CREDENTIAL; or plaintext when hs_bus_use_insecure was called or
 * HS_INSECURE is set (not "0"), which the first connect logs loudly. With
 * neither, hs_bus_connect fails (-ENOKEY). These are process-wide and
 * should be called before the first connect (a daemon's --credential FILE
 * and --insecure flags); the last call wins. path is copied; NULL forgets
 * it (back to the environment). */
void hs_bus_use_credential (const char *path);
void hs_bus_use_insecure (void);

/* The line hs_bus_connect or hs_bus_join logged for its last security
 * failure ("the bus refused this client's key (unknown key ...)"), or NULL.
 * A tool that prints its own "error: ..." lines (hsctl) turns the logging
 * off with hs_bus_quiet_errors (true) and prints this instead. */
const char *hs_bus_last_error (void);
void hs_bus_quiet_errors (bool quiet);

/* Connects. `component` and `instance` name the sender ("hs-store", "a1b2c");
 * instance NULL picks a random one. Returns 0 or -errno (-EINVAL: an
 * instance that cannot be a client id, see hs_topic_id_ok; -ENOKEY: no
 * credential and not insecure; a credential that cannot be loaded: its
 * hs_cred_load error). Credential problems are logged here, at error level,
 * as the one line that says what to fix: this is the exception to library
 * code logging only at debug, because every component would otherwise
 * need the same words. A key the bus refuses shows in hs_bus_join. */
int hs_bus_connect (const char *addr, const char *component, const char *instance,
                    hs_bus_t **ret_bus);

/* hs_bus_connect with an explicit credential instead of the process-wide
 * one: a gateway connecting as each of its users (hs-apiserver), each with
 * its own keypair. cred NULL connects insecure (the bus runs insecure too);
 * its keys are copied onto the sockets, so the caller may wipe it after.
 * Ignores hs_bus_use_credential, hs_bus_use_insecure and the environment.
 * 0, -EINVAL (address, instance, or a cred whose identity or keys are not
 * well formed), -errno. A key the bus refuses shows in hs_bus_join
 * (-EKEYREJECTED). */
int hs_bus_connect_cred (const char *addr, const char *component, const char *instance,
                         const hs_cred_t *cred, hs_bus_t **ret_bus);

/* This connection's identity (from its credential), or NULL insecure. */
const char *hs_bus_identity (hs_bus_t *self);

/* The identity hs-bus stamped on the message most recently returned (on a
 * stamped topic, hs_topic_is_stamped: cmd.*, probres.*, execout.*, logs.*)
 * by hs_bus_recv / hs_bus_recv_sized (the third frame), or NULL when the
 * bus runs insecure or that message carried no stamp. Borrowed: valid
 * until the next receive. */
const char *hs_bus_peer_identity (hs_bus_t *self);
void hs_bus_destroy (hs_bus_t **self_p);

/* "<component>/<instance>", the Envelope sender. Borrowed. */
const char *hs_bus_sender (hs_bus_t *self);
const char *hs_bus_instance (hs_bus_t *self);
const char *hs_bus_component (hs_bus_t *self);

int hs_bus_subscribe (hs_bus_t *self, const char *prefix);
int hs_bus_unsubscribe (hs_bus_t *self, const char *prefix);

/* Proves the round trip through the broker: publishes on echo.<instance>/ until
 * it comes back on the SUB socket. Afterwards, nothing this component publishes
 * is dropped for want of a connection, and subscriptions made before the call
 * are in force. Other messages received meanwhile are queued for hs_bus_recv.
 * 0, -ETIMEDOUT, or in secure mode -EKEYREJECTED (the bus refused our key:
 * unknown, revoked or expired) or -EPROTO (the bus does not speak CURVE),
 * each logged at error level once with what to do; a timeout in secure mode
 * also logs why no handshake completed (wrong broker-key, or no bus). */
int hs_bus_join (hs_bus_t *self, int timeout_ms);
/* For a caller proving the join itself without blocking (hs_client_new_nojoin,
 * an echo of its own): whether the bus has refused the connection so far.
 * 0 (nothing known against it), -EKEYREJECTED or -EPROTO (logged as
 * hs_bus_join does). done: the join is proven or given up, stop watching
 * the handshakes (always stop, once). (Additive, issue 17: hs-apiserver
 * joins users' connections asynchronously.) */
int hs_bus_handshake_check (hs_bus_t *self, bool done);

/* Fills env's sender, sender_seq and sent_at_ns, packs and sends.
 * 0, -EMSGSIZE (over HS_BUS_MAX_MSG), -EINVAL (topic empty or over
 * HS_BUS_MAX_TOPIC), -EAGAIN (queue full), -errno. */
int hs_bus_publish (hs_bus_t *self, const char *topic, Hs__Envelope *env);
/* Like hs_bus_publish for a body that is already encoded: fills sender,
 * sender_seq and sent_at_ns, then sends an Envelope whose body is field
 * `field` (HS__ENVELOPE__BODY_COMMAND, _ACK, _EVENT, ...) with the
 * concatenated bytes of parts[0..n) as the sub-message. The frame is
 * byte-for-byte what hs_bus_publish would pack for the decoded body. For
 * senders that already hold the packed body (hs-store packs each object once
 * for LMDB and reuses the bytes in the event; the client library packs a
 * command once and resends the bytes). 0, -EMSGSIZE, -EAGAIN, -errno. */
int hs_bus_publish_body (hs_bus_t *self, const char *topic, unsigned field,
                         const struct iovec *parts, size_t n);
/* Batches: between begin and end, hs_bus_publish, _publish_body and
 * _publish_raw send nothing of their own; end (or flush) sends what they
 * published as one message of two frames [HS_BUS_PACKED_TOPIC, pack], the
 * pack holding every pair as varint topic length, topic, varint envelope
 * length, envelope; hs-bus splits it back into the two-frame messages, in
 * order: subscribers never see a batch. One message instead of many saves
 * the sender and hs-bus a wake-up of ZeroMQ's I/O thread per message, and
 * on a CURVE bus one encryption per batch instead of two per message
 * (CURVE boxes every frame). A pack holds at most HS_BUS_PACK_MAX bytes: a
 * bigger batch goes as several, a bigger pair on its own. hs-bus also still
 * takes the older multi-frame form [HS_BUS_BATCH_TOPIC, topic1, body1,
 * ...]. begin/end nest (only the outermost end sends); flush sends now,
 * and the batch goes on. hs_bus_wait, and so every receive that waits,
 * flushes before it blocks: what it waits for may answer something in the
 * batch. end and flush return 0 or -errno; a failed send loses the batch,
 * as a lost message would be lost. */
#define HS_BUS_PACKED_TOPIC "bus.packed"
#define HS_BUS_PACK_MAX     (1024 * 1024)
#define HS_BUS_BATCH_TOPIC  "bus.batch"
void hs_bus_batch_begin (hs_bus_t *self);
int hs_bus_batch_flush (hs_bus_t *self);
int hs_bus_batch_end (hs_bus_t *self);
/* Sends two frames as they are (tests, tools, benchmarks). */
int hs_bus_publish_raw (hs_bus_t *self, const char *topic, const void *data, size_t len);

/* Receives one valid message. Garbage is counted, logged once per sender, and
 * skipped. timeout_ms: -1 blocks, 0 polls. Returns 0 with *ret_topic (caller
 * frees) and *ret_env (hs_pb_free), -EAGAIN on timeout, -EINTR, or -errno. */
int hs_bus_recv (hs_bus_t *self, char **ret_topic, Hs__Envelope **ret_env, int timeout_ms);
/* hs_bus_recv that also returns *ret_size, the envelope's size in bytes, and
 * passes envelopes above HS_BUS_MAX_MSG (up to HS_BUS_MAX_FRAME) on topics
 * starting with oversized_prefix instead of counting them as garbage, so
 * that the receiver can answer them: hs-store acks an oversized command
 * Invalid rather than leave its sender retrying for ever. */
int hs_bus_recv_sized (hs_bus_t *self, const char *oversized_prefix, char **ret_topic,
                       Hs__Envelope **ret_env, size_t *ret_size, int timeout_ms);

/* Waits until a message can be received: 0, -EAGAIN when timeout_ms
 * (-1 blocks, 0 polls) passes first, -EINTR, or -errno. Cheaper than
 * zmq_poll on the SUB socket alone. Sends a pending batch before blocking. */
int hs_bus_wait (hs_bus_t *self, int timeout_ms);

/* Receives raw frames without decoding (the tap). nframes may differ from 2.
 * Frames are returned in *ret_frames (array of hs_frame_t, free with
 * hs_bus_frames_free). 0, -EAGAIN, -EINTR, -errno. */
typedef struct {
    uint8_t *data;
    size_t len;
} hs_frame_t;
int hs_bus_recv_raw (hs_bus_t *self, hs_frame_t **ret_frames, size_t *ret_n, int timeout_ms);
void hs_bus_frames_free (hs_frame_t *frames, size_t n);

/* Checks two raw frames and decodes them. 0 with *ret_env, or -EBADMSG with
 * *ret_reason set. Counts nothing. A message on a stamped topic (cmd.*,
 * probres.*, execout.*, logs.*: hs_topic_is_stamped) may have a third
 * frame, hs-bus's identity stamp, which must be a valid identity
 * (hs_cred_role_of) or the message is HS_GARBAGE_STAMP; hs_bus_recv in
 * secure mode requires it. Three frames on any other topic are
 * HS_GARBAGE_FRAMES. */
int hs_bus_decode (const hs_frame_t *frames, size_t n, Hs__Envelope **ret_env,
                   hs_garbage_t *ret_reason);
/* hs_bus_decode that passes envelopes above HS_BUS_MAX_MSG (up to
 * HS_BUS_MAX_FRAME) on topics starting with oversized_prefix, as
 * hs_bus_recv_sized does (NULL: none). */
int hs_bus_decode_sized (const hs_frame_t *frames, size_t n, const char *oversized_prefix,
                         Hs__Envelope **ret_env, hs_garbage_t *ret_reason);
const char *hs_garbage_name (hs_garbage_t reason);

/* A ComponentHeartbeat's counters: points hb at cs and cp (the caller's,
 * n entries each), filled from n names (borrowed) and values. */
void hs_heartbeat_counters (Hs__ComponentHeartbeat *hb, Hs__Counter *cs, Hs__Counter **cp,
                            const char *const *names, const uint64_t *values, size_t n);

/* Counters of refused messages. */
uint64_t hs_bus_garbage (hs_bus_t *self);
uint64_t hs_bus_garbage_by (hs_bus_t *self, hs_garbage_t reason);

/* The SUB socket (a libzmq void *), to poll for ZMQ_POLLIN in an event loop.
 * Also check hs_bus_pending: hs_bus_join may have queued messages. */
void *hs_bus_sub_socket (hs_bus_t *self);
bool hs_bus_pending (hs_bus_t *self);

/* Several brokers (see the banner). hs_bus_check reads what happened to
 * the SUB socket's connection and moves it to the next broker when its
 * broker has gone quiet: 1 when it moved, 0 otherwise (always 0 with one
 * broker; cheap). hs_bus_wait calls it; an owner polling
 * hs_bus_sub_socket itself calls it at least every HS_BUS_CHECK_MS.
 * hs_bus_brokers: how many; hs_bus_sub_endpoint: the SUB endpoint in use
 * (borrowed); hs_bus_moves: how often the SUB socket moved;
 * hs_bus_links: how many connections it completed after a move (a caller
 * that sees it grow resends what may have been lost meanwhile). */
int hs_bus_check (hs_bus_t *self);
/* Moves the SUB socket to the next broker now, whatever its link says: the
 * caller has seen that what it needs no longer comes through this broker
 * (hs_client: no hb.store for HS_CLIENT_STORE_SILENT_MS, a broker the store
 * is cut off from). why (may be NULL) is logged. 1 when it moved, 0 with
 * one broker (nothing to move to) or when the next one cannot be
 * connected (hs_bus_check tries the one after). */
int hs_bus_move (hs_bus_t *self, const char *why);
/* For an owner that polls hs_bus_sub_socket on an hs_loop itself (not
 * through hs_client_attach, which does this): runs hs_bus_check on the
 * loop every HS_BUS_CHECK_MS. Nothing with one broker. Destroy the bus
 * before the loop. 0 or -ENOMEM. */
int hs_bus_attach (hs_bus_t *self, hs_loop_t *loop);
size_t hs_bus_brokers (hs_bus_t *self);
const char *hs_bus_sub_endpoint (hs_bus_t *self);
uint64_t hs_bus_moves (hs_bus_t *self);
uint64_t hs_bus_links (hs_bus_t *self);

#endif
