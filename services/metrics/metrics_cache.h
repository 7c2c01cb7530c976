/*  metrics_cache.h: what hs-metrics remembers of the bus (docs/architecture.md
 *  §25): the last heartbeat of every component instance (hb.<role>.<instance>)
 *  and store replica (hb.store), of every member of a replicated store
 *  (hb.raft.<member>, a StoreHeartbeat; up like a store replica), and the
 *  last NodeUsage of every node
 *  (usage.<node>/). Memory only: a restarted hs-metrics learns it all again
 *  within one heartbeat interval. No sockets: the daemon feeds it messages
 *  and asks for a metrics_input_t at each scrape.
 *
 *  Liveness, judged at each scrape against the monotonic clock:
 *    - an instance is up while its last heartbeat is at most 3 x its
 *      interval_ms old (1000 ms when it does not say; a store replica,
 *      which beats every ~200 ms, counts as 1000 ms), and down after;
 *    - a node's usage is fresh while its last sample is at most
 *      3 x interval_ms old, and at least 3 s: a stale node's pods have no
 *      container series;
 *    - either is forgotten (its series dropped) forget_ns after it was
 *      last heard.
 *  A restart is a heartbeat whose started_at_ns differs from the previous
 *  one of the same instance.
 */
#ifndef METRICS_CACHE_H
#define METRICS_CACHE_H

#include "metrics_render.h"

typedef struct metrics_cache_t metrics_cache_t;

metrics_cache_t *metrics_cache_new (int64_t forget_ns);
void metrics_cache_destroy (metrics_cache_t **self_p);

/* At most this many instances and as many nodes: what a publisher can
 * make it hold is bounded (a new one past it is refused, -ENOSPC). */
#define METRICS_CACHE_MAX 100000

/* A message on hb.* or usage.* (env borrowed; what is kept is copied).
 * 0 when kept, -EBADMSG when its body does not fit its topic (a
 * ComponentHeartbeat on hb.store or hb.raft.*, a member name
 * that is not [a-z0-9-]{1,32}, a NodeUsage of another node, no
 * instance in the topic), -ENOSPC for a new instance or node past
 * METRICS_CACHE_MAX: the caller counts both as bad messages. */
int metrics_cache_add (metrics_cache_t *self, const char *topic, const Hs__Envelope *env,
                       int64_t now_mono);

/* Fills in->members, stores and usage as of now_mono, after forgetting
 * what is older than forget_ns. The arrays and what they point at are the
 * cache's, valid until the next metrics_cache_add or _input. The other
 * fields of in are left alone. */
void metrics_cache_input (metrics_cache_t *self, int64_t now_mono, metrics_input_t *in);

/* How many instances, store replicas and nodes it knows. */
size_t metrics_cache_size (metrics_cache_t *self);

#endif
