/*  store_wal.h: hs-store's effects write-ahead log: the file format, append
 *  and replay (docs/architecture.md §4, "The write-ahead log").
 *
 *  The store keeps one LMDB write transaction open across several batches
 *  and acks a batch once ONE record holding its effects (every put and
 *  delete it made, in order) is appended to the log and fdatasync'ed. LMDB
 *  is committed later (a checkpoint), and the log is then emptied.
 *
 *  A record: u32 payload length, u32 CRC-32C of (batch, payload), u64 batch
 *  number, the payload; integers little-endian. Batch numbers strictly
 *  increase through a file. A zero header (or a file shorter than one) is
 *  an empty log: emptying the log zeroes the first header and keeps the
 *  file's blocks for the next records; what follows them is older. A
 *  payload is a sequence of effects:
 *    u8 op (1 put, 2 delete), u8 table (hs_db_table_t), u16 key length,
 *    [u32 value length], key, [value]          (the value only for a put)
 *  Nothing here knows LMDB or sockets: the unit tests drive it directly.
 */
#ifndef STORE_WAL_H
#define STORE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_WAL_HEADER     16
#define STORE_WAL_MAX_RECORD (1u << 30) /* payload bytes; a longer length is corruption */
/* A reset keeps the file's blocks for the next window up to this length. */
#define STORE_WAL_KEEP (64u << 20)

/* ------------------------------------------------------------------ effects */

typedef struct {
    uint8_t *data;
    size_t len, cap;
} store_wal_buf_t;

void store_wal_buf_free (store_wal_buf_t *b);

typedef enum { STORE_WAL_PUT = 1, STORE_WAL_DEL = 2 } store_wal_op_t;

typedef struct {
    store_wal_op_t op;
    unsigned table;
    const uint8_t *key; /* borrowed from the payload */
    size_t klen;
    const uint8_t *val; /* put only */
    size_t vlen;
} store_wal_effect_t;

/* Appends a put of key -> (v1 followed by v2) to b. klen <= 65535. */
void store_wal_effect_put (store_wal_buf_t *b, unsigned table, const void *key, size_t klen,
                           const void *v1, size_t l1, const void *v2, size_t l2);
void store_wal_effect_del (store_wal_buf_t *b, unsigned table, const void *key, size_t klen);
/* Decodes the effect at *off in payload and advances *off. 1 with *ret, 0 at
 * the end, -EBADMSG if the payload does not decode. */
int store_wal_effect_next (const uint8_t *payload, size_t len, size_t *off,
                           store_wal_effect_t *ret);

/* ------------------------------------------------------------------ records */

/* CRC-32C (Castagnoli), crc 0 to start. */
uint32_t store_wal_crc32c (uint32_t crc, const void *data, size_t len);

/* The 16-byte header of a record holding payload. */
void store_wal_header (uint8_t hdr[STORE_WAL_HEADER], uint64_t batch, const uint8_t *payload,
                       size_t len);

/* Called per complete record; a negative return stops the scan with it. */
typedef int (*store_wal_fn) (void *arg, uint64_t batch, const uint8_t *payload, size_t len);

/* Walks the records in buf in order, calling fn for each, and stops at the
 * first that is torn (too short), corrupt (bad CRC, absurd length) or out of
 * order (batch not above the one before). Returns the number of records
 * handed to fn or fn's negative return; *ret_valid (may be NULL) is the
 * length of the valid prefix. */
int store_wal_scan (const uint8_t *buf, size_t len, store_wal_fn fn, void *arg, size_t *ret_valid);

/* Whether the scan's stop at off (its *ret_valid) is the log's clean end:
 * the end of buf, or a zero header. Otherwise what follows is an older
 * window's leftovers or a torn append; neither was ever acked. */
bool store_wal_is_end (const uint8_t *buf, size_t len, size_t off);

/* ------------------------------------------------------------------ the file */

typedef struct store_wal_t store_wal_t;

/* Opens (creating) the log at path. nosync: never fdatasync (--no-sync).
 * 0 or -errno. */
int store_wal_open (const char *path, bool nosync, store_wal_t **ret_wal);
void store_wal_destroy (store_wal_t **self_p);
/* The whole file, in a buffer the caller frees. 0 or -errno. */
int store_wal_read (store_wal_t *self, uint8_t **ret_buf, size_t *ret_len);
/* Appends one record and fdatasyncs the file (unless nosync): when this
 * returns 0 the record survives a crash or power loss. On failure the file
 * is cut back to its previous length (best effort) and -errno returned. */
int store_wal_append (store_wal_t *self, uint64_t batch, const uint8_t *payload, size_t len);
/* Empties the log (after a checkpoint made every record in it redundant):
 * zeroes the first record's header and appends from the start again,
 * overwriting the file's blocks; truncate (or a file longer than
 * STORE_WAL_KEEP): cuts the file to nothing instead. Not synced: see
 * store_wal.c. 0 or -errno. */
int store_wal_reset (store_wal_t *self, bool truncate);
/* Bytes of records in the log (the file may be longer: see reset). */
uint64_t store_wal_size (store_wal_t *self);

#endif
