/*  hs_members.h: the live instances of one controller role, and which of
 *  them owns a key (docs/architecture.md §12). Pure: no sockets, no clock;
 *  the caller passes monotonic times in, hs_ctrl feeds it heartbeats.
 *
 *  The table holds this instance (self, never expires) and every peer heard
 *  within the timeout. A peer whose last heartbeat is more than timeout_ns
 *  old when hs_members_expire runs has left. Each change of the live set
 *  (a join, one expiry round that removed someone) bumps the generation, so
 *  a caller that cached ownership answers knows when to re-derive them.
 *
 *  Ownership is rendezvous (highest random weight) hashing: a key belongs
 *  to the live instance with the highest hs_rendezvous_score (instance,
 *  key); ties go to the instance whose name sorts first. Every instance that
 *  sees the same live set picks the same owner, and a join or leave moves
 *  only the keys of the instance that joined or left.
 */
#ifndef HS_MEMBERS_H
#define HS_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Peers a table holds at most (heartbeats come from the bus). */
#define HS_MEMBERS_MAX 1024

typedef struct hs_members_t hs_members_t;

/* A table with self as its only member, at generation 1 (0 is never a
 * generation, so a caller may start from 0). self is copied. */
hs_members_t *hs_members_new (const char *self, int64_t timeout_ns);
void hs_members_destroy (hs_members_t **self_p); /* NULL-safe, NULLs *self_p */

/* A heartbeat from instance at now. 1: it joined (generation bumped); 0: it
 * was already live (its time refreshed; always so for self); -EINVAL: an
 * empty name; -ENOSPC: HS_MEMBERS_MAX peers already live. */
int hs_members_heard (hs_members_t *m, const char *instance, int64_t now);

/* Called with each peer hs_members_expire removes, before it goes. */
typedef void (hs_members_gone_fn) (void *arg, const char *instance, int64_t silent_ns);
/* Removes the peers last heard more than timeout_ns before now (exactly
 * timeout_ns is still live); gone (may be NULL) hears of each. Returns how
 * many left; the generation is bumped once if any did. */
size_t hs_members_expire (hs_members_t *m, int64_t now, hs_members_gone_fn *gone, void *arg);

/* The live instance that owns key (borrowed: valid until the table
 * changes). Never NULL: self is always live. */
const char *hs_members_owner (const hs_members_t *m, const char *key);
/* Is instance the owner of key? */
bool hs_members_owns (const hs_members_t *m, const char *instance, const char *key);

/* Live instances, self included. */
size_t hs_members_count (const hs_members_t *m);
/* The i-th live instance in name order (borrowed), NULL past the end. */
const char *hs_members_at (const hs_members_t *m, size_t i);
/* Is instance live? */
bool hs_members_live (const hs_members_t *m, const char *instance);
/* Bumped on each change of the live set; starts at 1. */
uint64_t hs_members_generation (const hs_members_t *m);

/* The rendezvous score of (instance, key): FNV-1a over instance, NUL, key,
 * then a 64-bit finalizer so that names differing in one letter still
 * spread evenly. Deterministic across processes and hosts. */
uint64_t hs_rendezvous_score (const char *instance, const char *key);

#endif
