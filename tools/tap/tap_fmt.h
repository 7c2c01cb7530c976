/*  tap_fmt.h: how hs-tap turns raw bus frames into text (pure: no sockets).
 *
 *  Everything here works from the schema alone (protobuf-c descriptors): a
 *  message is checked with hs_bus_decode, summarised per Envelope body, and
 *  anything that does not decode is shown as GARBAGE, never trusted.
 *
 *  Line format (times are UTC):
 *    HH:MM:SS.mmm  <sender>  <topic>  <summary>
 *    HH:MM:SS.mmm  <sender|?>  <topic>  GARBAGE (<reason>) <n> frame(s), <size> bytes: <hex>
 *  JSON-lines format, one object per message:
 *    {"time":"<RFC 3339, ms, UTC>","topic":"...","size":N,"envelope":{...}}
 *    {"time":"...","topic":"...","garbage":"<reason>","size":N,"frames":N,"sender":"..."}
 */
#ifndef TAP_FMT_H
#define TAP_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_bus.h"
#include "hs_util.h"

/* Longest generic (JSON) summary, in characters, before "...". */
#define TAP_GENERIC_MAX 200

/* One message as the tap sees it: raw frames and when they arrived. */
typedef struct {
    const hs_frame_t *frames;
    size_t n;
    int64_t recv_ns;
    bool show_secrets; /* --show-secrets: Secrets' values as they travel */
} tap_msg_t;

/* Secrets on the bus (in commands, events and snapshot chunks) travel in
 * clear: the bus itself is what protects them. The tap shows each Secret's
 * values as stringData "<redacted N bytes>" (data emptied) unless
 * m->show_secrets. Returns how many Secrets env held (all redacted). */
size_t tap_redact_secrets (Hs__Envelope *env);
/* For recordings: when m decodes and carries a Secret, 1 with *ret_frames
 * (m->n frames, caller frees with hs_bus_frames_free) holding the same
 * message with its Secrets redacted; else 0. */
int tap_redact_frames (const tap_msg_t *m, hs_frame_t **ret_frames);

/* Which topics to show: any of `include` (none: everything), none of `exclude`.
 * Prefixes are compared bytewise against the first frame. Borrowed strings. */
typedef struct {
    const char **include;
    size_t n_include;
    const char **exclude;
    size_t n_exclude;
} tap_filter_t;

bool tap_filter_match (const tap_filter_t *f, const hs_frame_t *topic);

/* A short human summary of a decoded envelope's body ("apply pod default/web
 * req=ab12 (1 write)"). Caller frees. */
char *tap_summary (const Hs__Envelope *env);
/* The fallback summary used for bodies without a dedicated one: the body
 * field name and its compact JSON, cut at TAP_GENERIC_MAX. Caller frees. */
char *tap_summary_generic (const Hs__Envelope *env);

/* The message as one text line (no trailing newline). Caller frees. */
char *tap_fmt_line (const tap_msg_t *m);
/* The message as one JSON object on one line (no trailing newline). Caller frees. */
char *tap_fmt_json (const tap_msg_t *m);

/* The stats group of a topic: its first two dot-separated segments ("ev.pod",
 * "hb.store"), or just the first for per-client topics ("ack", "snap", "echo").
 * Non-printable or empty topics group as "(bad topic)". Into buf. */
const char *tap_topic_group (const hs_frame_t *topic, char *buf, size_t len);

/* Total bytes over all frames. */
size_t tap_msg_size (const tap_msg_t *m);

/* Helpers shared with hs-send and the selftest. */
/* "HH:MM:SS.mmm" of a ns timestamp, UTC. */
const char *tap_fmt_clock (int64_t ns, char *buf, size_t len);
/* "2026-11-21T12:00:00.123Z". */
const char *tap_fmt_rfc3339_ms (int64_t ns, char *buf, size_t len);
/* Appends s (len bytes) as a JSON string literal, quotes included. */
void tap_json_str (hs_buf_t *b, const uint8_t *s, size_t len);
/* Appends printable ASCII as is and anything else as \xNN, up to max bytes of s. */
void tap_escape (hs_buf_t *b, const uint8_t *s, size_t len, size_t max);

#endif
