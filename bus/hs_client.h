/*  hs_client.h: the client library every component and tool uses.
 *
 *  Two things, over one bus connection:
 *
 *  1. Commands. hs_client_call publishes a Command on cmd.<kind> (cmd.multi
 *     when it writes several kinds: hs_cmd_topic) and waits for its Ack on
 *     ack.<client_id>/, resending with the *same* request id (so the
 *     store applies it at most once) with backoff until acked or out of time.
 *
 *     From a replicated store (hb.store's member set), an Unavailable ack
 *     (it lost its leadership with the command in flight, which may still
 *     commit under the next leader) is not an answer: the command is
 *     resent, same request id, until another ack comes or the deadline
 *     passes, and then that Unavailable ack is the answer. From a single
 *     store (a full disk) it is the answer at once, as it always was;
 *     until the first hb.store says which store it is, it waits for it.
 *     A new store epoch or leader (hb.store) or a move to another broker
 *     resends every unacked command at once (hs_client_resends).
 *
 *     Store epochs are ordered by hb.store's raft term (0 from a single
 *     store): hb.store, events and snapshot chunks of an epoch whose term
 *     is lower than the highest heard (a deposed leader that has not
 *     stepped down yet) are dropped, and a watch never moves to one.
 *
 *     Several brokers (hs_bus.h): when no hb.store has come through ours
 *     for 600 ms, the SUB socket moves to the next broker anyway (the
 *     store may be cut off from it while our link to it is fine);
 *     hs_client_silence_moves counts those moves.
 *
 *  2. Watches: snapshot-then-follow for any set of kinds. A watch subscribes to
 *     the kinds' event topics and hb.store first, then loads a snapshot
 *     (streamed from the store over the bus, or read from the store's LMDB
 *     directory when given `local_store`), then applies the buffered events
 *     newer than the snapshot. A gap in a stream's sequence, a stream whose
 *     hb.store sequence is ahead of what we saw for longer than a grace period,
 *     or a new store epoch triggers a resync: a fresh snapshot, diffed against
 *     the cache so the callback sees exactly the changes it missed. So does
 *     silence: no hb.store of the watch's epoch for 1.5 s while other ones
 *     arrive, or none at all for 3 s.
 *
 *  Single-threaded: the owner drives it from its event loop with
 *  hs_client_process, or lets hs_client_call / hs_watch_wait_synced pump it.
 *
 *  Callbacks and re-entrancy. Watch callbacks, ack callbacks (hs_client_send)
 *  and hs_client_on handlers run from inside hs_client_process,
 *  hs_client_call, hs_client_snapshot and hs_watch_wait_synced. From a
 *  callback you may:
 *    - read caches (hs_watch_get/list), hs_client_send, hs_client_watch,
 *      hs_client_on;
 *    - call hs_client_call and hs_client_snapshot: they work, but while they
 *      wait only acks and their own snapshot chunks are handled; every other
 *      message is queued, in order, for the next top-level hs_client_process.
 *      So no cache changes and no other callback runs under your feet, and
 *      the pointers you were given stay valid until you return.
 *  You may not call hs_client_process or hs_watch_wait_synced (they return
 *  -EDEADLK) nor hs_client_destroy.
 */
#ifndef HS_CLIENT_H
#define HS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_bus.h"
#include "hs_db.h"
#include "hs_loop.h"
#include "hs_obj.h"

typedef struct hs_client_t hs_client_t;
typedef struct hs_watch_t hs_watch_t;

/* Connects to the bus and joins it (hs_bus_join). 0 or -errno
 * (-ETIMEDOUT: no broker answered within join_timeout_ms; 0 means 5000,
 * negative means wait for ever). */
int hs_client_new (const char *bus_addr, const char *component, const char *instance,
                   int join_timeout_ms, hs_client_t **ret_client);
/* hs_client_new connecting with cred (hs_bus_connect_cred: NULL is
 * insecure) rather than the process's credential. -EKEYREJECTED when the
 * bus refuses the key (unknown, revoked, expired). */
int hs_client_new_cred (const char *bus_addr, const char *component, const char *instance,
                        int join_timeout_ms, const hs_cred_t *cred, hs_client_t **ret);
/* hs_client_new_cred without the join: connected and subscribed, nothing
 * proven. The caller proves the round trip itself (a Ping on
 * echo.<hs_client_id> through hs_client_on) and asks
 * hs_bus_handshake_check whether the bus refused the key, then calls it
 * with done. (Additive, issue 17: hs-apiserver must not block its loop.) */
int hs_client_new_cred_nojoin (const char *bus_addr, const char *component, const char *instance,
                               const hs_cred_t *cred, hs_client_t **ret);
/* Frees the client, its watches and pending calls (their callbacks are not
 * run; their free_arg is, see hs_call_opts_t). */
void hs_client_destroy (hs_client_t **self_p);
hs_bus_t *hs_client_bus (hs_client_t *self);
/* Runs the client on a loop: its bus socket and its timers (retries,
 * resync grace) become the loop's sources, so the daemon needs no
 * hs_client_process or hs_client_timeout_ms of its own. 0 or -errno. */
int hs_client_attach (hs_client_t *self, hs_loop_t *loop);
/* The loop hs_client_attach put the client on, or NULL. (Additive, issue
 * 17: hs-apiserver's cache arms its timers on its client's loop.) */
hs_loop_t *hs_client_loop (hs_client_t *self);
/* The client id acks come back to (the bus instance). Borrowed. */
const char *hs_client_id (hs_client_t *self);

/* ------------------------------------------------------------------ commands */

typedef struct {
    int timeout_ms; /* give up after this long; 0: 10000 */
    int retry_ms;   /* first resend after this long, doubling to 1000; 0: 200 */
    bool dry_run;
    /* hs_client_send: frees the callback's arg when the callback will never
     * run because hs_client_destroy dropped the call first, so callers keep
     * no list of contexts in flight just to free them at exit. NULL: none. */
    void (*free_arg) (void *arg);
} hs_call_opts_t;

/* A write of `op` carrying `obj` (ownership of obj passes to the write). */
Hs__Write *hs_write_new (Hs__Op op, Hs__Object *obj);
/* A write naming its target (delete, bind). */
Hs__Write *hs_write_target (Hs__Op op, hs_kind_t kind, const char *ns, const char *name);

/* Sends writes (borrowed; committed together or not at all) and waits for
 * the ack. Returns 0 with *ret_ack (hs_pb_free) whatever the ack's code: look
 * at ack->code. -ETIMEDOUT when no ack came in time. opts may be NULL.
 * Also: -EINVAL (no writes), -EMSGSIZE (the command's envelope would be over
 * HS_BUS_MAX_MSG: nothing is sent; split it), -EINTR (a signal interrupted
 * the wait; the call is abandoned). The topic is hs_cmd_topic's: cmd.<kind>
 * when every write is of that kind, else cmd.multi; every resend reuses the
 * request id. Callbacks of other messages may run while it waits (see
 * the banner). */
int hs_client_call (hs_client_t *self, Hs__Write *const *writes, size_t n,
                    const hs_call_opts_t *opts, Hs__Ack **ret_ack);

/* Asynchronous form: fn runs from hs_client_process with err 0 and the ack
 * (borrowed), or err -ETIMEDOUT and ack NULL. Writes are copied. fn may be
 * NULL. Returns 0, -EINVAL or -EMSGSIZE (then fn never runs). Thousands may
 * be in flight: lookups are by hash, timers in a heap. */
typedef void (hs_ack_fn) (void *arg, int err, const Hs__Ack *ack);
int hs_client_send (hs_client_t *self, Hs__Write *const *writes, size_t n,
                    const hs_call_opts_t *opts, hs_ack_fn *fn, void *arg);
size_t hs_client_inflight (hs_client_t *self); /* calls not yet acked or timed out */
/* Commands resent at once, before their retry timer, because a new store
 * epoch or leader (a new hb.store epoch or sender) appeared or the bus
 * connection moved to another broker (hs_bus_links). Same request ids:
 * the store answers one it already applied as a replay. */
uint64_t hs_client_resends (hs_client_t *self);
/* Moves to another broker because no hb.store came through ours. */
uint64_t hs_client_silence_moves (hs_client_t *self);

/* Kubernetes' reason for a code: "NotFound", "AlreadyExists", "Conflict", ... */
const char *hs_code_reason (Hs__Code code);

/* ------------------------------------------------------------------ watches */

/* type is ADDED, MODIFIED or DELETED. old is the previous state (MODIFIED,
 * DELETED) or NULL. Both borrowed for the call only.
 * The type follows this watch's cache, not the wire: a pod bound to the
 * watch's pod_node arrives as ADDED. After a resync the callback gets exactly
 * the difference: ADDED, MODIFIED (only if the bytes differ) and DELETED
 * (obj and old both the last state this watch knew). */
typedef void (hs_watch_fn) (void *arg, Hs__EventType type, const Hs__Object *obj,
                            const Hs__Object *old);

typedef struct {
    const hs_kind_t *kinds; /* which kinds; NULL/0: every kind */
    size_t n_kinds;
    const char *pod_node;    /* pods: only those bound to this node (agents) */
    const char *local_store; /* store data directory to snapshot from, or NULL */
    hs_watch_fn *fn;         /* may be NULL: just keep the cache */
    void *arg;
} hs_watch_opts_t;

/* Starts a watch (subscribes now, snapshots on the next process call).
 * The options are copied. NULL if a kind is invalid. Before snapshotting, a
 * ping on a topic subscribed after the watch's own proves its subscriptions
 * are in force at the broker, so the snapshot and the events meet. With
 * local_store, a failing local read falls back to the bus. Watches live until
 * hs_client_destroy. */
hs_watch_t *hs_client_watch (hs_client_t *self, const hs_watch_opts_t *opts);
/* Pumps the client until the watch has loaded its first snapshot.
 * 0 or -ETIMEDOUT (-EDEADLK from a callback, -EINTR). */
int hs_watch_wait_synced (hs_watch_t *w, int timeout_ms);
bool hs_watch_synced (hs_watch_t *w);
/* Cache reads. Borrowed until the next hs_client_process. */
const Hs__Object *hs_watch_get (hs_watch_t *w, hs_kind_t kind, const char *ns, const char *name);
/* Objects of `kind` (HS_KIND_NONE: all), sorted by key. *ret is a malloc'd
 * array of borrowed pointers; free the array only. Returns the count. */
size_t hs_watch_list (hs_watch_t *w, hs_kind_t kind, const Hs__Object ***ret);
/* The store revision the cache reflects (events applied, and hb.store's
 * revision once it shows no stream ahead), the store's epoch, and the number
 * of completed resyncs (the first load is not one). */
int64_t hs_watch_revision (hs_watch_t *w);
uint64_t hs_watch_epoch (hs_watch_t *w);
uint64_t hs_watch_resyncs (hs_watch_t *w);

/* ------------------------------------------------------------------ snapshots */

/* Asks the store for a snapshot over the bus (SnapshotRequest on cmd.snapshot,
 * SnapshotChunks back on snap.<client_id>/) and collects it; a lost chunk makes
 * it ask again. 0, -ETIMEDOUT, or -EPROTO (the store answered with an error).
 * Free with hs_db_snapshot_free. A wrong total_objects or ~1 s without a
 * chunk also makes it ask again (new request id). timeout_ms <= 0: 10000.
 * -EINVAL for an invalid kind. */
int hs_client_snapshot (hs_client_t *self, const hs_kind_t *kinds, size_t n_kinds,
                        const char *pod_node, int timeout_ms, hs_db_snapshot_t *ret_snap);

/* ------------------------------------------------------------------ other topics */

/* Subscribes to prefix and calls fn for each valid message on it, including
 * those the client also handles itself (acks, events, hb.store); several
 * handlers may match one message. env is borrowed for the call. Messages no
 * one handles are freed silently. 0, -EINVAL or -errno. */
typedef void (hs_msg_fn) (void *arg, const char *topic, const Hs__Envelope *env);
int hs_client_on (hs_client_t *self, const char *prefix, hs_msg_fn *fn, void *arg);
/* Inside an hs_client_on handler: hs-bus's identity stamp on the message
 * (hs_bus_peer_identity: who published it, on cmd.* and the agents'
 * replies probres.*, execout.*, logs.*), or NULL (insecure bus, or a topic
 * hs-bus does not stamp). Borrowed for the call. Stays right for a message
 * a handler's synchronous call held back. */
const char *hs_client_peer_identity (hs_client_t *self);

/* ------------------------------------------------------------------ event loop */

/* The socket to poll for ZMQ_POLLIN (libzmq void *). */
void *hs_client_socket (hs_client_t *self);
/* How long the owner may sleep before calling hs_client_process again
 * (retries, resync timers), in ms; 0 if work is pending now; -1 if no timer
 * is armed (sleep until the socket is readable). */
int hs_client_timeout_ms (hs_client_t *self);
/* Receives and dispatches messages for up to timeout_ms (0: only what is
 * ready; -1: until something arrives), and runs due timers. Returns as soon
 * as it has handled a batch of messages (at most 10000): messages handled,
 * 0 if none came in time, -EINTR, or -EDEADLK when called from a callback. */
int hs_client_process (hs_client_t *self, int timeout_ms);

#endif
