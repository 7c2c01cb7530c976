/*  store_alloc.h: the addresses hs-store hands out, inside the transaction
 *  that writes the object (docs/architecture.md, "Addresses"): each Node's
 *  spec.podCIDR from --cluster-cidr, each Service's spec.clusterIP from
 *  --service-cidr. Allocation cannot race: it is a read and a put in the
 *  same LMDB write transaction as the object, logged in the same
 *  write-ahead record, rolled back with a refused command.
 *
 *  The `alloc` table (hs_db.h) indexes what is held: a 5-byte key, the tag
 *  ('S' a clusterIP, 'N' a podCIDR) and the block's first address
 *  big-endian, so LMDB keeps the blocks of one tag sorted by address; the
 *  value is the block's prefix length (one byte) and the holder's object
 *  key ("service/ns/name", "node//name"). Held blocks of one tag never
 *  overlap. The table is rebuilt from the stored objects at every store
 *  start, so it can never disagree with them for long.
 *
 *  How a free block is chosen (store_ops.c does the LMDB part):
 *    - clusterIP: as the apiserver's allocator with KEP-3070's bands. The
 *      usable addresses are the range without its network and broadcast
 *      addresses; the first min(max(16, size/16), 256) of them (none for a
 *      range of 16 addresses or fewer) are the lower band, left to Services
 *      that ask for an address (kube-dns's 10.96.0.10). A Service without
 *      one gets a free address of the upper band, scanned from a random
 *      start (so a just-freed address is rarely handed out again at once),
 *      else of the lower band. Full: Internal error, kube's text.
 *    - podCIDR: as kube-controller-manager's range allocator: the next free
 *      --node-cidr-mask-size slice of the cluster CIDR after the last one
 *      handed out (wrapping), starting from the first. A Node that names its
 *      podCIDR keeps it when it is free (it overlaps no other Node's).
 *  Pure here: keys, the bands and what an object holds.
 */
#ifndef STORE_ALLOC_H
#define STORE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_net.h"
#include "hs_obj.h"

#define STORE_ALLOC_SVC      'S'
#define STORE_ALLOC_NODE     'N'
#define STORE_ALLOC_KEY_LEN  5
#define STORE_ALLOC_BAND_MIN 16
#define STORE_ALLOC_BAND_MAX 256
#define STORE_ALLOC_BAND_DIV 16

/* The key of the block of tag starting at addr. */
void store_alloc_key (uint8_t key[STORE_ALLOC_KEY_LEN], char tag, uint32_t addr);
/* A key back: whether it is one of tag's (then *ret_addr). */
bool store_alloc_key_parse (const void *key, size_t len, char tag, uint32_t *ret_addr);

/* The usable clusterIPs of range: *ret_first (the address after the
 * network address) and *ret_count (size - 2). */
void store_alloc_svc_usable (const hs_cidr_t *range, uint32_t *ret_first, uint64_t *ret_count);
/* How many of the usable addresses form the lower band (KEP-3070). */
uint64_t store_alloc_svc_band (const hs_cidr_t *range);
/* Whether ip may be a clusterIP of range: inside it, neither its network
 * nor its broadcast address. */
bool store_alloc_svc_in_range (const hs_cidr_t *range, uint32_t ip);

/* The block o holds: a Service's clusterIP (tag 'S', prefix 32) or a Node's
 * podCIDR (tag 'N'). false when it holds none (other kinds, headless,
 * empty, or a value that does not parse: validation refuses those). */
bool store_alloc_held (const Hs__Object *o, char *ret_tag, hs_cidr_t *ret_block);

#endif
