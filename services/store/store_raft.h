/*  store_raft.h: the replicated store (docs/architecture.md §4, "The
 *  replicated store"): hs-store's FSM on libraft.
 *
 *  One raft entry is one batch's effects record (store_record), behind a
 *  header naming the cluster and a CRC-32C. The leader applies a batch
 *  speculatively into the window and hands its record to raft_apply; its
 *  store_out_t (events, acks) is held until the entry commits, and only ONE
 *  batch is in flight: commands arriving meanwhile wait on the bus and make
 *  the next batch larger (group commit). The FSM skips an entry at or below
 *  store_applied_index (LMDB meta wal_batch = the raft index), records the
 *  leader's own in-flight entry (its effects are in the window already), and
 *  replays anything else into the window. Leadership lost: the window is
 *  rebuilt without the uncommitted batch and its acks become Unavailable.
 *  Snapshots are compact LMDB copies. No sockets here: store_main.c wires
 *  raft_uv and the bus, the unit tests raft_fixture.
 */
#ifndef STORE_RAFT_H
#define STORE_RAFT_H

#include "store.h"

#include <raft.h>
#include <stdbool.h>
#include <stdint.h>

#define STORE_RAFT_MAGIC  0x46525348u /* "HSRF" */
#define STORE_RAFT_HEADER 32

typedef struct store_raft_t store_raft_t;

typedef struct {
    /* A held batch is decided: committed (out's events then acks are to be
     * published, in order) or not (every ack Unavailable, no events). */
    void (*done) (void *arg, store_out_t *out, bool committed);
    /* This member now serves as leader (a barrier committed: everything
     * committed is applied; a new epoch was chosen), or stopped serving. */
    void (*serving) (void *arg, bool serving);
    void *arg;
} store_raft_cbs_t;

/* The cluster id's 64-bit hash (FNV-1a), carried in every entry and snapshot. */
uint64_t store_raft_hash (const char *cluster_id);

/* store must be opened with opts.replicated. cbs copied. */
int store_raft_new (store_t *store, uint64_t cluster, const store_raft_cbs_t *cbs,
                    store_raft_t **ret);
void store_raft_destroy (store_raft_t **self_p);
/* The FSM to give raft_init / raft_fixture_grow; then attach its raft. */
struct raft_fsm *store_raft_fsm (store_raft_t *self);
void store_raft_attach (store_raft_t *self, struct raft *raft);
/* The cluster id and raft dir named in refusals (copied; NULL: unknown). */
void store_raft_set_names (store_raft_t *self, const char *cluster_id, const char *raft_dir);
struct raft *store_raft_raft (store_raft_t *self);

/* Notices leadership changes (call after raft ran: each loop turn, each
 * fixture step): lost -> the held batch fails, serving(false); leader ->
 * raft_barrier, and from its callback serving(true). */
void store_raft_tick (store_raft_t *self);
bool store_raft_serving (store_raft_t *self);
/* A batch is in flight: take no other, do not checkpoint. */
bool store_raft_busy (store_raft_t *self);

/* Applies a batch (store_apply_as) on the serving leader. Returns 0: held
 * (out was swapped with the held one and is now empty; done() will get
 * it), 1: nothing to replicate (out is answered now: publish it), -EBUSY:
 * not serving or a batch is in flight (nothing done), other -errno: failed
 * (out's acks are Unavailable: publish them). */
int store_raft_submit (store_raft_t *self, Hs__Command *const *cmds, const char *const *identities,
                       size_t n, store_out_t *out);
/* store_raft_submit in two steps, for a caller that adds to out (refusals,
 * timings) between: propose returns as submit but never swaps out; after a
 * 0 the caller MUST store_raft_hold (out) before raft runs again (the same
 * loop turn). */
int store_raft_propose (store_raft_t *self, Hs__Command *const *cmds, const char *const *identities,
                        size_t n, store_out_t *out);
void store_raft_hold (store_raft_t *self, store_out_t *out);

/* An entry of cluster `cluster` holding payload, as submit builds it: a
 * raft_malloc'ed buffer (for tests: a foreign cluster's entry). */
int store_raft_entry (uint64_t cluster, const uint8_t *payload, size_t len,
                      struct raft_buffer *ret);

/* Nonzero once an entry or snapshot was refused (foreign cluster, bad CRC)
 * or the window could not take a committed record: the member must stop. */
int store_raft_fatal (store_raft_t *self);
uint64_t store_raft_snapshots_installed (store_raft_t *self);
uint64_t store_raft_snapshot_index (store_raft_t *self);
/* Entries or snapshots refused (foreign cluster or bad CRC). */
uint64_t store_raft_refused (store_raft_t *self);
/* Failed writes of raft's log under a batch (the batch answered
 * Unavailable), and of those (and of raft's other writes that stopped it)
 * the ones that found the disk full. */
uint64_t store_raft_io_errors (store_raft_t *self);
uint64_t store_raft_disk_full (store_raft_t *self);

#endif
