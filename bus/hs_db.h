/*  hs_db.h: the store's LMDB layout, shared by hs-store (writes), the client
 *  library (local read-only snapshots) and hsctl (snapshot files).
 *
 *  Named databases in one LMDB environment (a directory):
 *    objects   "<kind>/<namespace>/<name>" -> packed hs.Object
 *    streams   "<kind>.<routing>"          -> uint64 last sequence (native)
 *    meta      "revision" -> int64; "epoch" -> uint64 (written at each store start)
 *    requests  "<client_id>\n<request_id>" -> int64 time + packed hs.Ack
 *    reqtime   be64 time + request key     -> "" (prunes old request ids)
 *  MDB_val pointers never leave this module's functions.
 */
#ifndef HS_DB_H
#define HS_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_obj.h"

typedef struct hs_db_t hs_db_t;

typedef struct {
    bool readonly;   /* a reader beside a running store */
    bool nosync;     /* --no-sync: commits are not fsynced */
    size_t map_size; /* 0: 8 GiB */
} hs_db_opts_t;

/* Opens (creating when writable) the environment in dir. 0 or -errno. */
int hs_db_open (const char *dir, const hs_db_opts_t *opts, hs_db_t **ret_db);
void hs_db_close (hs_db_t **self_p);

/* A consistent view: every object of the kinds asked for, from one read
 * transaction, with the revision, epoch and stream sequences it reflects. */
typedef struct {
    uint64_t epoch;
    int64_t revision;
    Hs__StreamSeq **streams;
    size_t n_streams;
    Hs__Object **objects;
    size_t n_objects;
} hs_db_snapshot_t;

/* kinds NULL/0: every kind. pod_node non-empty: only pods bound to it.
 * 0 or -errno. Free with hs_db_snapshot_free. A reader (readonly) gets
 * -EAGAIN while hs-store's write-ahead log is not empty: LMDB may then lack
 * acked writes, and the caller should ask the store instead. */
int hs_db_snapshot (hs_db_t *self, const hs_kind_t *kinds, size_t n_kinds, const char *pod_node,
                    hs_db_snapshot_t *ret_snap);

/* Sealed values: hs-store keeps Secrets encrypted (services/store/
 * store_secret.h). Such a value starts with a zero byte, which no packed
 * hs.Object does (protobuf has no field 0). hs-store sets an unseal
 * function that decrypts and unpacks one (0 with *ret, or -errno: the
 * snapshot fails with it); without one (a reader beside the store, which
 * holds no key), a snapshot that meets a sealed value fails with -ENOKEY,
 * so the client library asks the store on the bus instead. */
#define HS_DB_SEALED_PREFIX     "\0hsenc:"
#define HS_DB_SEALED_PREFIX_LEN 7
typedef int (*hs_db_unseal_fn) (void *arg, const void *value, size_t len, Hs__Object **ret);
void hs_db_set_unseal (hs_db_t *self, hs_db_unseal_fn fn, void *arg);
bool hs_db_is_sealed (const void *value, size_t len);
void hs_db_snapshot_free (hs_db_snapshot_t *snap);

/* Snapshot files (hsctl snapshot save/restore): "HSSNAP1\n", then
 * length-prefixed (u32 big-endian) hs.SnapshotChunk messages; the last chunk
 * has last=true and total_objects, and a file without it is refused. */
int hs_db_snapshot_write_file (const char *path, const hs_db_snapshot_t *snap);
int hs_db_snapshot_read_file (const char *path, hs_db_snapshot_t *ret_snap, char **ret_error);

/* Writes snap into a new, empty store directory (the store must not be
 * running there). -EEXIST if dir already holds a store. */
int hs_db_restore (const char *dir, const hs_db_snapshot_t *snap);

/* Splits snap into SnapshotChunk messages (hs-store's bus answer and the file
 * format): index 0, 1, ..., at most max_objects objects and about max_bytes
 * packed objects each (a single larger object gets a chunk of its own), epoch
 * and revision on every chunk; the last has last=true, total_objects and the
 * streams. Always at least one chunk. The chunks BORROW snap's objects and
 * streams: free them with hs_db_chunks_free, before hs_db_snapshot_free. */
void hs_db_snapshot_chunks (const hs_db_snapshot_t *snap, const char *request_id,
                            size_t max_objects, size_t max_bytes, Hs__SnapshotChunk ***ret_chunks,
                            size_t *ret_n);
void hs_db_chunks_free (Hs__SnapshotChunk **chunks, size_t n);

/* hs-store's write-ahead log, in the same directory (services/store/store_wal.h):
 * empty (no bytes, or a zeroed first record header) whenever LMDB holds every
 * acked write. */
#define HS_DB_WAL_FILE   "wal"
#define HS_DB_WAL_HEADER 16 /* bytes of a record header (STORE_WAL_HEADER) */

/* ------------------------------------------------------------------ writer side
 *
 * hs-store is the only writer; it runs its own transactions on these handles.
 * Two more named databases, private to hs-store:
 *    nodeuse   "<node>" -> three int64 (native): cpu millicores, memory bytes
 *              and pod count requested by the non-terminal pods bound to the
 *              node; rebuilt from `objects` at every store start.
 *    alloc     the addresses in use (services/store/store_alloc.h):
 *              'S' + be32 IP -> the Service holding that clusterIP,
 *              'N' + be32 network -> the Node holding that podCIDR;
 *              rebuilt from `objects` at every store start.
 */
typedef enum {
    HS_DB_OBJECTS = 0,
    HS_DB_STREAMS,
    HS_DB_META,
    HS_DB_REQUESTS,
    HS_DB_REQTIME,
    HS_DB_NODEUSE,
    HS_DB_ALLOC, /* after the others: the write-ahead log names tables by number */
    HS_DB__COUNT
} hs_db_table_t;

struct MDB_env;
/* The LMDB environment and a table's handle (an MDB_dbi). Borrowed. */
struct MDB_env *hs_db_env (hs_db_t *self);
unsigned int hs_db_dbi (hs_db_t *self, hs_db_table_t table);
/* The one place LMDB codes become errno-style codes: 0, -ENOENT (MDB_NOTFOUND),
 * -EEXIST (MDB_KEYEXIST), -ENOSPC (MDB_MAP_FULL, MDB_TXN_FULL), -EINVAL
 * (MDB_BAD_VALSIZE), -EBADMSG (corrupt or incompatible file), -rc for system
 * errors. */
int hs_db_errno (int mdb_rc);

#endif
