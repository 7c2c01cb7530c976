/*  tap_rec.h: hs-tap's recording format (-w FILE / -r FILE).
 *
 *  A recording keeps every message exactly as it came off the bus, garbage
 *  included, so a replay shows the same thing the live tap showed:
 *
 *    file    := magic message*
 *    magic   := "HSTAP1\n"                       (7 bytes)
 *    message := recv_ns:u64 nframes:u32 frame{nframes}
 *    frame   := len:u32 bytes{len}
 *
 *  Integers are big-endian. recv_ns is the tap's CLOCK_REALTIME when the
 *  message arrived. A message has 1..TAP_REC_MAX_FRAMES frames, each at most
 *  TAP_REC_MAX_FRAME bytes (the bus never delivers larger ones); a reader
 *  refuses anything else as corrupt rather than allocating what a damaged
 *  length asks for. The file ends cleanly only between two messages.
 */
#ifndef TAP_REC_H
#define TAP_REC_H

#include <stdint.h>
#include <stdio.h>

#include "hs_bus.h"

#define TAP_REC_MAGIC      "HSTAP1\n"
#define TAP_REC_MAGIC_LEN  7
#define TAP_REC_MAX_FRAMES 64
#define TAP_REC_MAX_FRAME  (HS_BUS_MAX_MSG + HS_BUS_MAX_TOPIC + 1024)

/* Writes the magic. 0 or -errno. */
int tap_rec_write_header (FILE *f);
/* Appends one message. 0 or -errno (-EINVAL: too many frames or a frame too big). */
int tap_rec_write (FILE *f, int64_t recv_ns, const hs_frame_t *frames, size_t n);

/* Reads and checks the magic. 0, or -EBADMSG with *ret_error (caller frees). */
int tap_rec_read_header (FILE *f, char **ret_error);
/* Reads the next message. 1 with *ret_recv_ns, *ret_frames (hs_bus_frames_free;
 * each frame NUL-terminated past its length) and *ret_n; 0 at a clean end of
 * file; -EBADMSG (truncated or corrupt) or -EIO with *ret_error (caller frees)
 * naming the message number and byte offset. */
int tap_rec_read (FILE *f, int64_t *ret_recv_ns, hs_frame_t **ret_frames, size_t *ret_n,
                  char **ret_error);

#endif
