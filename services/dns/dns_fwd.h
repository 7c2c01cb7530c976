/*  dns_fwd.h: the table of queries hs-dns forwarded to its upstreams over
 *  UDP and waits for. Pure: no sockets; the caller passes the time in.
 *
 *  Each forwarded query gets a fresh random ID, unused by any other in
 *  flight, so answers are matched by (ID, the upstream it went to, the
 *  question) and a forged or stale answer matches nothing. The table holds
 *  at most `limit` queries: past that a new one is refused (the caller
 *  counts the drop and the client retries). A query not answered within
 *  attempt_ns is sent again to the next upstream (round robin), at most
 *  `attempts` times in all; then it has failed and the client gets
 *  SERVFAIL.
 */
#ifndef DNS_FWD_H
#define DNS_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns_msg.h"

typedef struct dns_fwd_t dns_fwd_t;

/* A query in flight. The packet holds the query with its new ID. */
typedef struct dns_pending_t {
    struct sockaddr_storage client;
    socklen_t client_len;
    uint16_t client_id, id;
    size_t upstream;  /* index of the upstream it went to last */
    int attempts;     /* sends so far */
    int64_t deadline; /* monotonic ns */
    int64_t started;  /* monotonic ns: when it was first forwarded */
    uint8_t *pkt;
    size_t len;
    size_t client_udp; /* the client's UDP answer size (dns_udp_limit) */
    uint32_t local;    /* the caller's: the address the query came to (network order) */
    struct dns_pending_t *prev, *next; /* by deadline */
} dns_pending_t;

dns_fwd_t *dns_fwd_new (size_t limit, size_t n_upstreams, int attempts, int64_t attempt_ns,
                        uint64_t seed);
void dns_fwd_destroy (dns_fwd_t **self_p);

/* Takes a query (pkt[0..len), a parsed q of it) from client to forward:
 * copies it under a new ID. Returns the entry (its pkt is what to send, to
 * entry->upstream), or NULL when the table is full. */
dns_pending_t *dns_fwd_add (dns_fwd_t *f, const struct sockaddr *client, socklen_t client_len,
                            const dns_query_t *q, const uint8_t *pkt, size_t len, int64_t now);

/* An answer from upstream u: the entry it answers, taken out of the table
 * (the caller frees it with dns_fwd_free after restoring the client's ID),
 * or NULL when it answers nothing in flight (late, forged, garbage). */
dns_pending_t *dns_fwd_match (dns_fwd_t *f, size_t u, const uint8_t *pkt, size_t len);

/* The earliest deadline (HS_NEVER-like INT64_MAX when empty). */
int64_t dns_fwd_next (const dns_fwd_t *f);

/* The first entry past its deadline at now, or NULL. If it has attempts
 * left it is moved on to the next upstream with a new deadline and
 * *ret_failed is false: send its pkt again. Otherwise it is taken out of
 * the table, *ret_failed is true: answer SERVFAIL and dns_fwd_free it. */
dns_pending_t *dns_fwd_expired (dns_fwd_t *f, int64_t now, bool *ret_failed);

size_t dns_fwd_inflight (const dns_fwd_t *f);
void dns_fwd_free (dns_pending_t *p);

#endif
