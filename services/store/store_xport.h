/*  store_xport.h: raft's TCP transport with a cluster check before raft
 *  talks (docs/architecture.md §4, "The replicated store").
 *
 *  libraft 0.15's raft_uv_tcp connects anyone who speaks its handshake: a
 *  member started with another --cluster-id would vote, be voted for and
 *  get entries, and be caught only when an entry is applied (too late: it
 *  may have won an election). This transport wraps an initialized
 *  raft_uv_tcp. The connecting side writes a fixed preamble (magic, the
 *  cluster id's hash, the cluster id itself, truncated to 64 bytes) on the
 *  stream before raft gets it; the accepting side reads it before raft's
 *  accept callback sees the stream, and on a mismatch closes the stream and
 *  logs once per peer address, naming both cluster ids. A foreign member
 *  thus never gets a vote, a vote request or an entry through a good one.
 */
#ifndef STORE_XPORT_H
#define STORE_XPORT_H

#include <raft/uv.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_XPORT_PREAMBLE 80 /* 8 magic, 8 hash, 64 cluster id */

/* Makes *outer a transport over *inner (raft_uv_tcp_init'ed, not yet used)
 * for cluster_id (copied). 0 or -ENOMEM. */
int store_xport_init (struct raft_uv_transport *outer, struct raft_uv_transport *inner,
                      const char *cluster_id);
/* After outer's close callback: releases it (then raft_uv_tcp_close inner). */
void store_xport_fini (struct raft_uv_transport *outer);
/* Connections refused for another cluster (or not hs-store at all). */
uint64_t store_xport_refused (struct raft_uv_transport *outer);
/* Incoming connections waiting for their preamble (at most 64; one
 * silent for 5 s is dropped at the next accept); tests. */
size_t store_xport_pending (struct raft_uv_transport *outer);
/* The preamble of cluster_id into buf (STORE_XPORT_PREAMBLE bytes); tests. */
void store_xport_preamble (const char *cluster_id, uint8_t *buf);

#endif
