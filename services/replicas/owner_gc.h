/*  owner_gc.h: when a dependent whose controller is gone is garbage, pure.
 *
 *  Background cascading deletion: a ReplicaSet or Pod whose controller
 *  reference names a ReplicaSet/Deployment uid that no object in the cache
 *  has is deleted. Only those two owner kinds are ours to judge: a
 *  dependent controlled by anything else (a Job, a Node) is left to its
 *  own controller. A dependent already being deleted is left alone.
 *  A cache that lags the store must not make us delete what
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
    GC_KEEP_ALL, /* the owner exists or is not ours to judge: none of its
                  * dependents is garbage (the others need not be asked) */
    GC_KEEP,     /* this dependent is already being deleted */
    GC_WAIT,     /* maybe garbage: look again at *ret_wake_mono */
    GC_DELETE,   /* garbage */
} gc_verdict_t;

/* What the rule reads of one dependent and its controller reference. */
typedef struct {
    const char *owner_kind; /* the controller reference's kind */
    bool owner_exists;      /* the cache has an object of that kind and uid */
    bool dep_deleting;      /* the dependent has a deletionTimestamp */
    int64_t dep_created_ns; /* its creationTimestamp (wall) */
} gc_input_t;

/* Does hs-replicas collect the dependents of this owner kind (ReplicaSet,
 * Deployment)? */
bool gc_owner_kind (const char *kind);

/* The verdict on one dependent. *missing_since_mono is the owner's record,
 * shared by all its dependents: 0 while it exists; set to now_mono the first
 * time it is found missing. now_ns is wall clock. *ret_wake_mono is written
 * for GC_WAIT only. */
gc_verdict_t gc_decide (const gc_input_t *in, int64_t *missing_since_mono, int64_t now_mono,
                        int64_t now_ns, int64_t *ret_wake_mono);

#endif
