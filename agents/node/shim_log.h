/*  shim_log.h: a container's stdout and stderr as a CRI log file, with
 *  size-based rotation.
 *
 *  Each record is one line in the format the kubelet reads:
 *    <RFC 3339 UTC timestamp, 9 fraction digits> <stdout|stderr> <F|P> <content>\n
 *  F ends a line (its newline is not part of the content); P is a chunk of a
 *  line longer than SHIM_LOG_LINE_MAX bytes, which is written as P chunks and
 *  then an F. Text still buffered at end of stream is written as F.
 *
 *  Rotation: before a record would take the file past max_bytes, the file
 *  becomes NAME.1 (NAME.k becomes NAME.k+1, the oldest is dropped), so at
 *  most max_files files exist. A record that cannot be written (disk full,
 *  I/O error, a failed rotation) is counted and dropped: the writer never
 *  blocks or stops the reader of the container's pipes. Nothing here knows
 *  processes or pipes.
 */
#ifndef SHIM_LOG_H
#define SHIM_LOG_H

#include <stddef.h>
#include <stdint.h>

#define SHIM_LOG_LINE_MAX 16384 /* content bytes per record, as containerd */
/* The smallest max_bytes: any record fits in an empty file. */
#define SHIM_LOG_MIN_BYTES 32768

typedef enum { SHIM_LOG_STDOUT = 0, SHIM_LOG_STDERR = 1 } shim_log_stream_t;

typedef struct shim_log_t shim_log_t;

/* Opens (creates, appends to) `name` in the directory dirfd (borrowed; it must
 * stay open while the log is). max_bytes >= SHIM_LOG_MIN_BYTES, max_files >= 1.
 * 0 with *ret_log (the caller's, free with shim_log_destroy), or -errno. */
int shim_log_new (int dirfd, const char *name, uint64_t max_bytes, unsigned max_files,
                  shim_log_t **ret_log);
/* Writes out what is still buffered (as F) and closes the file. NULL-safe. */
void shim_log_destroy (shim_log_t **self_p);

/* Bytes read from a stream at time now_ns (CLOCK_REALTIME): complete lines
 * and full chunks are written, the rest is kept for the next call. */
void shim_log_feed (shim_log_t *self, shim_log_stream_t stream, const char *data, size_t len,
                    int64_t now_ns);
/* The stream ended: what is buffered is written as F. */
void shim_log_eof (shim_log_t *self, shim_log_stream_t stream, int64_t now_ns);

/* Records dropped so far, and the errno of the first failure (0 if none). */
uint64_t shim_log_dropped (const shim_log_t *self, int *ret_first_errno);

/* Formats ns (CLOCK_REALTIME) as "2026-11-21T12:00:00.123456789Z" into buf
 * (at least 32 bytes); returns the length. */
size_t shim_log_fmt_time (int64_t ns, char *buf, size_t len);

#endif
