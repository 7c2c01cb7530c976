/*  store_batch.h: one batch of hs-store's bus messages, from what arrived to
 *  what must go out, without sockets (docs/architecture.md §4).
 *
 *  store_main.c receives the messages and publishes the answers;
 *  tests/fuzz/fuzz_store.c drives the same code with decoded bytes. A batch
 *  takes up to STORE_BATCH_MAX envelopes: a Command on the topic its writes
 *  name (hs_cmd_topic_check) is applied; one on another cmd.* topic, or
 *  over HS_BUS_MAX_MSG, is answered without applying; a SnapshotRequest on
 *  cmd.snapshot is kept to be served after the checkpoint; anything else is
 *  garbage (counted, logged once).
 */
#ifndef STORE_BATCH_H
#define STORE_BATCH_H

#include "store.h"

/* Commands per group commit. Not more: the batch's clients wait through its
 * apply, fdatasync and publish, then take a while to send their next
 * commands; with every queued command in one batch (the cap was 8192), all
 * clients moved in one group and the store idled through their turnaround
 * (docs/architecture.md §4 has the figures). At most 128 splits them into groups
 * that overlap: one is applied while another turns around. 64 was worse:
 * more fdatasyncs. */
#define STORE_BATCH_MAX 128
#define STORE_SNAP_MAX  64 /* snapshot requests served per batch */

typedef struct store_batch_t store_batch_t;

/* An empty batch for store (borrowed: it must outlive the batch). */
store_batch_t *store_batch_new (store_t *store);
/* Frees the batch and the messages it still holds. NULL-safe. */
void store_batch_destroy (store_batch_t **self_p);

/* Whether the batch takes no more messages. */
bool store_batch_full (const store_batch_t *self);
/* Sorts one received message into the batch. topic and env are taken; size
 * is the envelope's size on the wire (hs_bus_recv_sized passes envelopes
 * over HS_BUS_MAX_MSG on cmd.*: those are answered, not applied). */
void store_batch_take (store_batch_t *self, char *topic, Hs__Envelope *env, size_t size);
/* store_batch_take of a message hs-bus stamped with identity
 * (hs_bus_peer_identity; borrowed, copied; NULL: the bus runs insecure),
 * which its command is applied as (store_apply_as). */
void store_batch_take_as (store_batch_t *self, char *topic, Hs__Envelope *env, size_t size,
                          const char *identity);
/* Commands taken so far, to apply or to refuse. */
size_t store_batch_n_commands (const store_batch_t *self);
/* Applies the commands taken (store_apply: group commit), then answers the
 * refused ones (store_refuse), into out (empty on entry: store_out_reset).
 * Each ack's received_ns is when its command was taken. false, out
 * untouched, when the batch holds no command. */
bool store_batch_apply (store_batch_t *self, store_out_t *out);
/* What store_batch_apply applies the commands with (default: store_apply_as;
 * the replicated store: store_raft_propose). Returns as store_apply_as. */
typedef int (*store_batch_apply_fn) (void *arg, Hs__Command *const *cmds,
                                     const char *const *identities, size_t n, store_out_t *out);
void store_batch_set_apply (store_batch_t *self, store_batch_apply_fn fn, void *arg);

/* The snapshot requests taken, in order (borrowed, until store_batch_end),
 * and the identity each was stamped with (NULL: insecure). */
size_t store_batch_n_snapshots (const store_batch_t *self);
const Hs__SnapshotRequest *store_batch_snapshot (const store_batch_t *self, size_t i);
const char *store_batch_snapshot_identity (const store_batch_t *self, size_t i);

/* Frees the batch's messages: the batch is empty again. */
void store_batch_end (store_batch_t *self);

/* The answer to a snapshot request (served after a checkpoint, so it holds
 * every acked write): the topic (snap.<client_id>/) and the chunks, or one
 * chunk with the error code (an unknown kind: Invalid; the store
 * unreadable: Internal). */
typedef struct {
    char *topic;
    Hs__SnapshotChunk **chunks;
    size_t n;
    hs_db_snapshot_t snap; /* what the chunks borrow */
    bool has_snap;
} store_snap_answer_t;
/* Fills *ret (free with store_snap_answer_free), or returns -EINVAL, counted
 * as garbage and logged once, when the request names no client that can be
 * answered (or -EPERM, counted as forbidden, when its identity may not name
 * that client: store_authz_client_ok). */
int store_snapshot_answer (store_t *store, const Hs__SnapshotRequest *req,
                           store_snap_answer_t *ret);
/* store_snapshot_answer for a request stamped with identity (NULL:
 * insecure): only what store_authz_list lets it read (a node: Nodes,
 * Services, Endpoints, ConfigMaps, Secrets, its own pods); a refused request gets one chunk with CODE_FORBIDDEN and kubectl's
 * words, counted in hb.store's forbidden. */
int store_snapshot_answer_as (store_t *store, const Hs__SnapshotRequest *req, const char *identity,
                              store_snap_answer_t *ret);
void store_snap_answer_free (store_snap_answer_t *a);

#endif
