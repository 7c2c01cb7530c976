/*  store.h: hs-store's decisions, apart from its wiring (DESIGN §3).
 *
 *  store_apply takes a batch of Commands and applies them in ONE LMDB write
 *  transaction (group commit), each command in its own nested transaction so
 *  a failing command rolls back only itself. What the bus must then carry
 *  comes back in a store_out_t: the WatchEvents in commit order, then the
 *  Acks. No sockets here: store_main.c publishes them.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_db.h"

#define STORE_MAX_WRITES     1000      /* writes per command */
#define STORE_MAX_OBJECT     (1 << 20) /* packed bytes per object */
#define STORE_DEFAULT_TTL_NS (600LL * 1000000000LL)

typedef struct store_t store_t;

typedef struct {
    bool nosync;            /* commits are not fsynced (--no-sync) */
    int64_t request_ttl_ns; /* how long request ids are remembered; 0: 600 s */
    size_t map_size;        /* 0: hs_db's default */
} store_opts_t;

/* Opens the data directory (created if missing), writes a new random epoch,
 * and rebuilds the per-node usage index from the objects. 0 or -errno. */
int store_open (const char *dir, const store_opts_t *opts, store_t **ret_store);
void store_destroy (store_t **self_p);

hs_db_t *store_db (store_t *self);
uint64_t store_epoch (store_t *self);
int64_t store_revision (store_t *self);

typedef struct {
    char *topic; /* ev.<kind>.<routing>.<ns>/<name> */
    Hs__WatchEvent *event;
    size_t obj_off, obj_len; /* event->object, packed, in the out's bytes */
} store_event_t;

typedef struct {
    char *topic; /* ack.<client_id> */
    Hs__Ack *ack;
    size_t off, len; /* ack, packed, in the out's bytes */
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

/* Applies cmds (modified: write objects are taken) in one transaction and
 * fills *out (cleared first; free with store_out_clear). Returns the number
 * of commands that changed something, or -errno when the batch could not
 * commit (then every ack is CODE_UNAVAILABLE and no event is reported). */
int store_apply (store_t *self, Hs__Command *const *cmds, size_t n, store_out_t *out);
/* Empties out, keeping its buffers for the next batch. */
void store_out_reset (store_out_t *out);
/* Empties out and frees its buffers. */
void store_out_clear (store_out_t *out);

/* Counters and the stream sequences for hb.store. Fills epoch, revision,
 * streams (every stream's last seq), objects, commands, commits and the
 * store's own garbage count (unanswerable commands); the caller adds the
 * rest. hs_pb_free-able fields. 0 or -errno. */
int store_heartbeat (store_t *self, Hs__StoreHeartbeat *hb);
/* Counts a message refused above the store (wrong body on cmd.*). */
void store_count_garbage (store_t *self);

/* The usage index of one node (for tests and debugging). 0 or -ENOENT. */
typedef struct {
    int64_t cpu_milli, mem_bytes, pods;
} store_node_usage_t;
int store_node_usage (store_t *self, const char *node, store_node_usage_t *ret);

#endif
