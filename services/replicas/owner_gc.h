/*  owner_gc.h: when a dependent whose controller is gone is garbage, pure.
 *
 *  Background cascading deletion: a ReplicaSet or Pod whose controller
 *  reference names a ReplicaSet/Deployment uid that no object in the cache
 *  has is deleted. A cache that lags the store must not make us delete what
 *  a fresh owner just made, so two guards: the owner has been missing for
 *  GC_OWNER_GONE_NS (seen missing by two passes that far apart), and the
 *  dependent was created GC_MIN_AGE_NS ago or more (its creationTimestamp,
 *  the store's clock, against ours: the same machine or NTP).
 */
#ifndef OWNER_GC_H
#define OWNER_GC_H

#include <stdbool.h>
#include <stdint.h>

#define GC_OWNER_GONE_NS 1000000000LL
#define GC_MIN_AGE_NS    2000000000LL

typedef enum {
    GC_KEEP,   /* the owner exists */
    GC_WAIT,   /* maybe garbage: look again at *ret_wake_mono */
    GC_DELETE, /* garbage */
} gc_verdict_t;

/* *missing_since_mono is the owner's record: 0 while it exists; set to
 * now_mono the first pass that finds it missing. dep_created_ns and now_ns
 * are wall clock. *ret_wake_mono is written for GC_WAIT only. */
gc_verdict_t gc_decide (bool owner_exists, int64_t *missing_since_mono, int64_t now_mono,
                        int64_t dep_created_ns, int64_t now_ns, int64_t *ret_wake_mono);

#endif
