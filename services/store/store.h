/*  store.h: hs-store's decisions, apart from its wiring (docs/architecture.md §4).
 *
 *  store_apply takes a batch of Commands and applies them into the open LMDB
 *  write transaction (the window, shared by several batches), a command with
 *  several writes in a nested transaction so a failing command rolls back
 *  only itself; then it appends the batch's effects to the write-ahead log
 *  and fdatasyncs it (group commit). store_checkpoint commits the window.
 *  What the bus must then carry comes back in a store_out_t: the WatchEvents
 *  in commit order, then the Acks. No sockets here: store_main.c publishes
 *  them.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_db.h"
#include "hs_metric.h"
#include "hs_net.h"

#define STORE_MAX_WRITES     1000      /* writes per command */
#define STORE_MAX_OBJECT     (1 << 20) /* packed bytes per object */
#define STORE_DEFAULT_TTL_NS (600LL * 1000000000LL)

/* The write-ahead window: a checkpoint (LMDB commit) is due when the window
 * is this old, has this many commands, or has logged this many bytes of
 * effects (a proxy for its dirty pages), and whenever the store is idle. */
#define STORE_WINDOW_NS       (400LL * 1000000LL)
#define STORE_WINDOW_COMMANDS 65536
#define STORE_WINDOW_BYTES    (64u << 20)
#define STORE_WAL_FILE        HS_DB_WAL_FILE /* in the data directory, beside data.mdb */

typedef struct store_t store_t;

typedef struct {
    bool nosync;              /* commits are not fsynced (--no-sync) */
    int64_t request_ttl_ns;   /* how long request ids are remembered; 0: 600 s */
    size_t map_size;          /* 0: hs_db's default */
    const hs_net_conf_t *net; /* the address plan (copied); NULL: Kubernetes' defaults */
    /* The keyring of Secrets at rest (store_secret.h); NULL: <dir>/encryption.key,
     * created with a fresh key when missing and no Secret is encrypted yet. */
    const char *encryption_key;
    /* May be NULL: where store_open puts one line (caller frees) saying why
     * it refused, when the keyring is the cause. */
    char **ret_error;
    /* Replicated on raft (store_raft.h): store_apply_as leaves the batch's
     * record for raft_apply (store_record) instead of appending it to the
     * log; the log then holds committed records only, unsynced. */
    bool replicated;
} store_opts_t;

/* Opens the data directory (created if missing), replays the write-ahead
 * log past LMDB's last checkpoint, writes a new random epoch, rebuilds the
 * per-node usage index and the address index (store_alloc.h) from the
 * objects, commits, and empties the log.
 * 0 or -errno. (HS_STORE_TEST_NO_CHECKPOINT in the environment makes
 * store_checkpoint_due always false: for crash tests.) */
int store_open (const char *dir, const store_opts_t *opts, store_t **ret_store);
/* Secrets at rest, checked and rewritten at open (docs/architecture.md §4):
 * every sealed Secret must open with the keyring (else store_open fails:
 * -ENOKEY or -EBADMSG, with *opts->ret_error naming the key file); each
 * Secret stored in clear or sealed with another key than the first is
 * sealed anew with the first. How many were; the key file; the first key's
 * name. */
uint64_t store_secrets_rewritten (store_t *self);
const char *store_key_file (store_t *self);
const char *store_key_primary (store_t *self);
/* Checkpoints (a clean shutdown), then closes. */
void store_destroy (store_t **self_p);

/* Commits the window, if one is open, with meta "wal_batch" = the last batch
 * it holds, then empties the log. Readers of the LMDB file (hs_db_snapshot,
 * local snapshots) see acked writes only after this: call it before serving
 * a snapshot. On failure the window is rebuilt from the log. 0 or -errno. */
int store_checkpoint (store_t *self);
/* Whether to checkpoint now (see STORE_WINDOW_*); idle: no command waits. */
bool store_checkpoint_due (store_t *self, int64_t mono_now, bool idle);
/* When the open window becomes due by age (hs_mono_ns), or INT64_MAX. */
int64_t store_checkpoint_deadline (store_t *self);

/* A command (caller frees) deleting up to max Events last seen before
 * before_ns (Kubernetes keeps Events an hour), or NULL if none. Each delete
 * expects the Event's revision, so one repeated meanwhile stays. Apply it
 * with store_apply like any other; its acks go to ack.hs-store/. */
Hs__Command *store_expired_events (store_t *self, int64_t before_ns, size_t max);
hs_db_t *store_db (store_t *self);
uint64_t store_epoch (store_t *self);
int64_t store_revision (store_t *self);

typedef struct {
    char *topic; /* ev.<kind>.<routing>/<ns>/<name> */
    Hs__WatchEvent *event;
    size_t obj_off, obj_len; /* event->object, packed, in the out's bytes */
} store_event_t;

typedef struct {
    char *topic; /* ack.<client_id>/ */
    Hs__Ack *ack;
    size_t off, len;     /* ack, packed, in the out's bytes */
    size_t cmd;          /* the index in store_apply's cmds it answers; SIZE_MAX: store_refuse */
    int64_t received_ns; /* when its command was taken off the bus (hs_mono_ns, set by
                            store_batch); 0: not known */
} store_ack_t;

typedef struct {
    store_event_t *events; /* in commit order; committed_at_ns set */
    size_t n_events, cap_events;
    store_ack_t *acks; /* one per answerable command, in order */
    size_t n_acks, cap_acks;
    /* Each object and ack is packed once, here: the same bytes go into LMDB
     * and onto the bus (hs_bus_publish_body). */
    uint8_t *bytes;
    size_t n_bytes, cap_bytes;
    uint64_t unanswerable; /* commands without client_id: garbage */
    int commit_error;      /* 0, or why the batch did not commit (acks say Unavailable) */
} store_out_t;

/* Applies cmds (modified: write objects are taken) into the window, makes
 * them durable in the write-ahead log, and fills *out (cleared first; free
 * with store_out_clear). Returns the number of commands that changed
 * something, or -errno when the batch could not be made durable (then every
 * ack is CODE_UNAVAILABLE, no event is reported, and the window was rebuilt
 * from the log without this batch). */
int store_apply (store_t *self, Hs__Command *const *cmds, size_t n, store_out_t *out);
/* store_apply for commands that came by the bus: identities[i] (borrowed;
 * identities NULL, or an entry NULL: the bus runs insecure) is the stamp
 * hs-bus put on cmds[i]. Each write is authorized for it (store_authz.h,
 * on the stored objects, in the write transaction): a refused write gets
 * CODE_FORBIDDEN, counted in hb.store's forbidden. Request ids are
 * remembered per identity. A command whose identity may not name its
 * client_id (store_authz_client_ok) is dropped: counted, not answered. store_apply is store_apply_as with no
 * identities: the store's own commands (the Event sweep), tests. */
int store_apply_as (store_t *self, Hs__Command *const *cmds, const char *const *identities,
                    size_t n, store_out_t *out);
/* Answers a command refused before store_apply (docs/protocol.md: its
 * topic does not match its writes, its envelope is over HS_BUS_MAX_MSG):
 * appends to out an Ack with code and msg, applying and remembering
 * nothing (the same bytes on the same topic get the same answer). A
 * command whose client_id cannot be answered is counted as garbage. */
void store_refuse (store_t *self, store_out_t *out, const Hs__Command *cmd, Hs__Code code,
                   const char *msg);
/* Whether the store can answer cmd: its client_id can name an ack topic
 * (hs_topic_id_ok). Otherwise counts it as garbage, logs once, false. */
bool store_answerable (store_t *self, const Hs__Command *cmd);
/* Empties out, keeping its buffers for the next batch. */
void store_out_reset (store_out_t *out);
/* Empties out and frees its buffers. */
void store_out_clear (store_out_t *out);

/* Counters and the stream sequences for hb.store. Fills epoch, revision,
 * streams (every stream's last seq), objects, commands, commits, forbidden
 * (writes store_authz refused) and the store's own garbage count
 * (unanswerable commands); the caller adds the rest. hs_pb_free-able
 * fields. 0 or -errno. */
int store_heartbeat (store_t *self, Hs__StoreHeartbeat *hb);
/* The store's latency histograms (docs/protocol.md §8), borrowed for the
 * store's life: fsync_duration_seconds, each LMDB commit of the window
 * (store_checkpoint: its fdatasyncs unless --no-sync), and
 * wal_fsync_duration_seconds, each batch's append to the write-ahead log
 * with its fdatasync (the group commit every ack waits for). */
hs_hist_t *store_fsync_hist (store_t *self);
hs_hist_t *store_wal_hist (store_t *self);
/* LMDB commits of the window so far (store_checkpoint). */
uint64_t store_checkpoints (store_t *self);
/* Counts a message refused above the store (wrong body on cmd.*). */
void store_count_garbage (store_t *self);
/* Counts a request refused for its identity outside store_apply_as (a
 * snapshot request: store_batch.h), in hb.store's forbidden. */
void store_count_forbidden (store_t *self);

/* The usage index of one node (for tests and debugging). 0 or -ENOENT. */
typedef struct {
    int64_t cpu_milli, mem_bytes, pods;
} store_node_usage_t;
int store_node_usage (store_t *self, const char *node, store_node_usage_t *ret);

/* ------------------------------------------------------------------ replicated
 * (store_raft.c drives these; opts.replicated). The log's batch number is
 * the raft index of the entry that carried the record. */

/* The last batch's effects record (empty: nothing to replicate), valid
 * until the next store_apply, store_abort or store_commit_own. */
void store_record (store_t *self, const uint8_t **ret_data, size_t *ret_len);
/* The raft index of the last record in the window or LMDB: an entry at or
 * below it is already applied (the FSM's skip rule). */
uint64_t store_applied_index (store_t *self);
/* The last batch's record committed at index: its effects are in the window
 * already; logged (unsynced) so a rebuilt window keeps it. */
int store_commit_own (store_t *self, uint64_t index);
/* Applies a committed record made elsewhere (a follower, or a leader's
 * entries of earlier terms) into the window and logs it. Skips index <=
 * store_applied_index. 0 or -errno (the window is rebuilt: stop). */
int store_replay (store_t *self, uint64_t index, const uint8_t *payload, size_t len);
/* Leadership lost: drops the window's uncommitted batch (the window is
 * rebuilt from LMDB plus the committed records). */
void store_abort (store_t *self);
/* Every ack of out becomes Unavailable, events dropped; the message is why
 * (copied), or NULL: says err. */
void store_out_fail (store_t *self, store_out_t *out, int err, const char *why);
/* A new random epoch (a new leader: watchers resync). */
void store_new_epoch (store_t *self);
/* Checkpoints, then writes a compact copy of LMDB to fd; *ret_index is the
 * raft index it holds. 0 or -errno. */
int store_snapshot_copy (store_t *self, int fd, uint64_t *ret_index);
/* Replaces LMDB with a snapshot's copy holding raft index index (a no-op
 * when index <= store_applied_index) and reopens as store_open does.
 * 0 or -errno. */
int store_restore (store_t *self, uint64_t index, const uint8_t *data, size_t len);

#endif
