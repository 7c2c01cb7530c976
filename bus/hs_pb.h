/*  hs_pb.h: ownership helpers for protobuf-c messages.
 *
 *  One rule for every message in Homeostat: it is "unpacked-shaped". Every
 *  string is either protobuf_c_empty_string or heap-allocated, and every array
 *  and sub-message is heap-allocated, so hs_pb_free (protobuf-c's
 *  free_unpacked) frees any message, whether it was unpacked or built by hand.
 */
#ifndef HS_PB_H
#define HS_PB_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.pb-c.h"
#include "objects.pb-c.h"

/* ------------------------------------------------------------------ arenas
 *
 * Every message byte comes from hs_pb_alloc and goes back through
 * hs_pb_release: protobuf-c gets them as hs_pb_allocator (unpack with
 * &hs_pb_allocator; hs_pb_free uses it). With no arena entered (every
 * process but hs-store's batches) they are malloc and free.
 *
 * A thread that enters an arena gets its allocations from it, by bumping a
 * pointer; releasing one of them does nothing, and leaving the arena frees
 * them all at once. Memory from malloc stays malloc's: release frees it, so
 * a message may mix both (a heap string taken into an arena message).
 * The rule that makes this safe: nothing allocated while inside may be
 * used after leaving. hs-store enters for one batch, from receiving its
 * commands to freeing them, and keeps no message across batches. Under
 * ASan what an arena held is poisoned when it is left. */
typedef struct hs_pb_arena hs_pb_arena_t;
hs_pb_arena_t *hs_pb_arena_new (void);
void hs_pb_arena_destroy (hs_pb_arena_t **self_p);
/* Makes self the calling thread's arena until hs_pb_arena_leave. */
void hs_pb_arena_enter (hs_pb_arena_t *self);
/* Stops allocating from it and frees everything it handed out. */
void hs_pb_arena_leave (hs_pb_arena_t *self);
/* Bytes handed out since the last leave (tests). */
size_t hs_pb_arena_used (const hs_pb_arena_t *self);

void *hs_pb_alloc (size_t size);
void hs_pb_release (void *p);
extern ProtobufCAllocator hs_pb_allocator;

/* A new zero-initialised message of descriptor d (init'ed, heap). */
void *hs_pb_new (const ProtobufCMessageDescriptor *d);
/* Frees a message and everything it owns. NULL-safe. */
void hs_pb_free (void *msg);
/* For _cleanup_: frees *(msg **) and NULLs it. */
void hs_pb_freep (void *msg_p);
#define _cleanup_pb_ __attribute__ ((cleanup (hs_pb_freep)))

/* Replaces a string field: frees the old value, stores a copy of s ("" for NULL). */
void hs_pb_set_str (char **field, const char *s);
/* Takes ownership of heap string s (NULL means ""). */
void hs_pb_take_str (char **field, char *s);

/* Appends item to a repeated field: hs_pb_push ((void ***) &m->containers, &m->n_containers, c).
 * The array it returns is always malloc's (an arena's is copied out), so
 * arrays grown with it may be freed with free(). */
void hs_pb_push (void ***items, size_t *n, void *item);

/* Deep copy (pack + unpack). Returns NULL only if msg is NULL. */
void *hs_pb_dup (const void *msg);
/* Serialized bytes, caller frees. */
uint8_t *hs_pb_pack (const void *msg, size_t *ret_len);
/* Writes v as protobuf's base-128 varint into p (room for 10 bytes);
 * returns the bytes written. For framing bytes that are already packed. */
size_t hs_pb_varint (uint8_t *p, uint64_t v);
/* Byte-equal serializations. */
bool hs_pb_equal (const void *a, const void *b);

/* Map fields (repeated *Entry {key, value}), string to string. Every
 * generated entry struct of a map<string,string> has this layout. */
typedef struct {
    ProtobufCMessage base;
    char *key;
    char *value;
} hs_pb_map_entry_t;

const char *hs_pb_map_get (void *const *entries, size_t n, const char *key);
/* Sets key=value in a string map whose entry type is given by its descriptor. */
void hs_pb_map_set (void ***entries, size_t *n, const ProtobufCMessageDescriptor *entry_desc,
                    const char *key, const char *value);
/* Sorts a map's entries by key, so equal maps serialize equally. */
void hs_pb_map_sort (void **entries, size_t n);
/* A copy of a map's entry pointers sorted by key, for printing; the entries
 * stay the map's. Free the array only. */
const hs_pb_map_entry_t **hs_pb_map_sorted (void *const *entries, size_t n);

#endif
