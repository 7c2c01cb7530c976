/*  send_build.h: the messages hs-send puts on the bus (pure: no sockets).
 *
 *  Valid ones (a Ping, an Envelope from JSON/YAML) and deliberately broken
 *  ones, one per reason the bus refuses a message (hs_garbage_t), so tests can
 *  check that every receiver survives each of them.
 */
#ifndef SEND_BUILD_H
#define SEND_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "hs_bus.h"

typedef enum {
    SEND_GARBAGE_FRAMES = 0, /* three frames: topic, a valid Envelope, one more */
    SEND_GARBAGE_DECODE,     /* random bytes that are no Envelope */
    SEND_GARBAGE_OVERSIZED,  /* an envelope frame of HS_BUS_MAX_MSG + 1 bytes */
    SEND_GARBAGE_BODY,       /* an Envelope whose only body is unknown field 99 */
    SEND_GARBAGE_TOPIC,      /* the topic with non-printable bytes appended */
    SEND_GARBAGE_HUGE,       /* a frame above the broker's own limit (8 MiB): it
                              * drops the connection, nobody receives it */
    SEND_GARBAGE__COUNT
} send_garbage_t;

/* "frames", "decode", ... -> kind; -EINVAL if unknown. */
int send_garbage_parse (const char *name, send_garbage_t *ret);
const char *send_garbage_name (send_garbage_t kind);

/* What every envelope we build carries. */
typedef struct {
    const char *sender;
    uint64_t seq;
    int64_t now_ns;
} send_stamp_t;

/* A valid Envelope holding Ping{nonce}, packed. Caller frees *ret. */
uint8_t *send_build_ping (const send_stamp_t *st, const char *nonce, size_t *ret_len);

/* A broken message for `topic`. 0 with *ret_frames / *ret_n (hs_bus_frames_free). */
int send_build_garbage (send_garbage_t kind, const char *topic, const send_stamp_t *st,
                        hs_frame_t **ret_frames, size_t *ret_n);

/* Decodes hex ("0a0b", whitespace and ':' allowed between bytes; "" is empty).
 * 0 with *ret (caller frees, may be NULL for empty) / *ret_len, or -EINVAL. */
int send_hex_decode (const char *hex, uint8_t **ret, size_t *ret_len);

#endif
