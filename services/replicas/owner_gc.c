/*  owner_gc.c: the garbage rule (owner_gc.h). */
#include "owner_gc.h"
#include "hs_util.h"

bool gc_owner_kind (const char *kind)
{
    return hs_streq (kind, "ReplicaSet") || hs_streq (kind, "Deployment");
}

gc_verdict_t gc_decide (const gc_input_t *in, int64_t *missing_since_mono, int64_t now_mono,
                        int64_t now_ns, int64_t *ret_wake_mono)
{
    if (!gc_owner_kind (in->owner_kind)) return GC_KEEP_ALL;
    if (in->owner_exists) {
        *missing_since_mono = 0;
        return GC_KEEP_ALL;
    }
    /* the owner's clock starts whatever becomes of this dependent */
    if (*missing_since_mono == 0) *missing_since_mono = now_mono;
    if (in->dep_deleting) return GC_KEEP;
    int64_t at = *missing_since_mono + GC_OWNER_GONE_NS;
    int64_t age = now_ns - in->dep_created_ns;
    if (age < GC_MIN_AGE_NS) {
        int64_t t = now_mono + (GC_MIN_AGE_NS - age);
        if (t > at) at = t;
    }
    if (at > now_mono) {
        *ret_wake_mono = at;
        return GC_WAIT;
    }
    return GC_DELETE;
}
