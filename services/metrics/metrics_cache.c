/*  metrics_cache.c: the last heartbeat per instance and the last usage per
 *  node (metrics_cache.h). Two czmq hash tables keyed by the topic's tail.
 */
#include "metrics_cache.h"
#include "hs_topic.h"

#include <czmq.h>
#include <errno.h>
#include <string.h>

#define MS              1000000LL
#define DEFAULT_BEAT_MS 1000 /* an instance that does not say; the store */
#define MIN_STALE_NS    (3000 * MS)

typedef struct {
    char *component, *member; /* the topic's <role> and <instance> */
    Hs__ComponentHeartbeat *hb;
    Hs__StoreHeartbeat *store;
    bool raft; /* store is a member's hb.raft.<member> */
    int64_t seen;
    uint64_t restarts;
} s_entry_t;

typedef struct {
    Hs__NodeUsage *u;
    int64_t seen;
} s_usage_t;

struct metrics_cache_t {
    int64_t forget_ns;
    zhashx_t *entries; /* "<role>.<instance>" or "store.<instance>" -> s_entry_t */
    zhashx_t *usage;   /* node -> s_usage_t */
    metrics_member_t *members;
    metrics_store_t *stores;
    metrics_raft_t *rafts;
    const Hs__NodeUsage **fresh;
};

static void s_entry_free (void **item)
{
    s_entry_t *e = *item;
    if (!e) return;
    free (e->component);
    free (e->member);
    hs_pb_free (e->hb);
    hs_pb_free (e->store);
    free (e);
    *item = NULL;
}

static void s_usage_free (void **item)
{
    s_usage_t *u = *item;
    if (!u) return;
    hs_pb_free (u->u);
    free (u);
    *item = NULL;
}

metrics_cache_t *metrics_cache_new (int64_t forget_ns)
{
    metrics_cache_t *self = hs_calloc (1, sizeof *self);
    self->forget_ns = forget_ns;
    self->entries = zhashx_new ();
    self->usage = zhashx_new ();
    zhashx_set_destructor (self->entries, s_entry_free);
    zhashx_set_destructor (self->usage, s_usage_free);
    return self;
}

void metrics_cache_destroy (metrics_cache_t **self_p)
{
    metrics_cache_t *self = *self_p;
    if (!self) return;
    zhashx_destroy (&self->entries);
    zhashx_destroy (&self->usage);
    free (self->members);
    free (self->stores);
    free (self->rafts);
    free (self->fresh);
    free (self);
    *self_p = NULL;
}

static s_entry_t *s_entry (metrics_cache_t *self, const char *key, const char *component,
                           const char *member)
{
    s_entry_t *e = zhashx_lookup (self->entries, key);
    if (e) return e;
    if (zhashx_size (self->entries) >= METRICS_CACHE_MAX) return NULL;
    e = hs_calloc (1, sizeof *e);
    e->component = hs_strdup (component);
    e->member = hs_strdup (member);
    zhashx_insert (self->entries, key, e);
    return e;
}

static int s_store (metrics_cache_t *self, const Hs__StoreHeartbeat *hb, int64_t now)
{
    _cleanup_free_ char *key = hs_sprintf ("store.%s", hs_s (hb->instance));
    s_entry_t *e = s_entry (self, key, "store", hs_s (hb->instance));
    if (!e) return -ENOSPC;
    if (e->store && e->store->started_at_ns != hb->started_at_ns) e->restarts++;
    hs_pb_free (e->store);
    e->store = hs_pb_dup (hb);
    e->seen = now;
    return 0;
}

/* hb.raft.<member>: a replicated store's member ([a-z0-9-]{1,32}, as hs-bus
 * lets the store publish it), keyed "raft.<member>". */
static int s_raft (metrics_cache_t *self, const char *member, const Hs__StoreHeartbeat *hb,
                   int64_t now)
{
    if (!hs_member_name_ok (member, strlen (member))) return -EBADMSG;
    _cleanup_free_ char *key = hs_sprintf ("raft.%s", member);
    s_entry_t *e = s_entry (self, key, "raft", member);
    if (!e) return -ENOSPC;
    e->raft = true;
    hs_pb_free (e->store);
    e->store = hs_pb_dup (hb);
    e->seen = now;
    return 0;
}

static int s_component (metrics_cache_t *self, const char *tail, const Hs__ComponentHeartbeat *hb,
                        int64_t now)
{
    const char *dot = strchr (tail, '.');
    if (!dot || dot == tail || !dot[1]) return -EBADMSG;
    _cleanup_free_ char *role = hs_strndup (tail, (size_t)(dot - tail));
    /* not a store's key, nor a member's */
    if (strcmp (role, "store") == 0 || strcmp (role, "raft") == 0) return -EBADMSG;
    s_entry_t *e = s_entry (self, tail, role, dot + 1);
    if (!e) return -ENOSPC;
    if (e->hb && e->hb->started_at_ns != hb->started_at_ns) e->restarts++;
    hs_pb_free (e->hb);
    e->hb = hs_pb_dup (hb);
    e->seen = now;
    return 0;
}

static int s_usage (metrics_cache_t *self, const char *tail, const Hs__NodeUsage *u, int64_t now)
{
    size_t n = strlen (tail);
    if (n < 2 || tail[n - 1] != '/') return -EBADMSG;
    if (strlen (hs_s (u->node)) != n - 1 || memcmp (u->node, tail, n - 1) != 0) return -EBADMSG;
    s_usage_t *e = zhashx_lookup (self->usage, u->node);
    if (!e) {
        if (zhashx_size (self->usage) >= METRICS_CACHE_MAX) return -ENOSPC;
        e = hs_calloc (1, sizeof *e);
        zhashx_insert (self->usage, u->node, e);
    }
    hs_pb_free (e->u);
    e->u = hs_pb_dup (u);
    e->seen = now;
    return 0;
}

int metrics_cache_add (metrics_cache_t *self, const char *topic, const Hs__Envelope *env,
                       int64_t now_mono)
{
    if (strcmp (topic, "hb.store") == 0)
        return env->body_case == HS__ENVELOPE__BODY_STORE_HEARTBEAT
                   ? s_store (self, env->store_heartbeat, now_mono)
                   : -EBADMSG;
    if (hs_startswith (topic, "hb.raft."))
        return env->body_case == HS__ENVELOPE__BODY_STORE_HEARTBEAT
                   ? s_raft (self, topic + 8, env->store_heartbeat, now_mono)
                   : -EBADMSG;
    if (hs_startswith (topic, "hb."))
        return env->body_case == HS__ENVELOPE__BODY_HEARTBEAT
                   ? s_component (self, topic + 3, env->heartbeat, now_mono)
                   : -EBADMSG;
    if (hs_startswith (topic, "usage."))
        return env->body_case == HS__ENVELOPE__BODY_USAGE
                   ? s_usage (self, topic + 6, env->usage, now_mono)
                   : -EBADMSG;
    return -EBADMSG;
}

static int64_t s_beat_ns (uint32_t interval_ms)
{
    return 3 * (int64_t)(interval_ms ? interval_ms : DEFAULT_BEAT_MS) * MS;
}

static void s_str_free (void **item)
{
    free (*item);
    *item = NULL;
}

/* Deletes the keys listed in drop (a zlist of strings) from h. */
static void s_drop (zhashx_t *h, zlistx_t *drop)
{
    for (const char *k = zlistx_first (drop); k; k = zlistx_next (drop)) zhashx_delete (h, k);
    zlistx_purge (drop);
}

void metrics_cache_input (metrics_cache_t *self, int64_t now, metrics_input_t *in)
{
    zlistx_t *drop = zlistx_new ();
    zlistx_set_destructor (drop, s_str_free);
    size_t n = zhashx_size (self->entries);
    self->members = hs_realloc (self->members, (n + 1) * sizeof *self->members);
    self->stores = hs_realloc (self->stores, (n + 1) * sizeof *self->stores);
    self->rafts = hs_realloc (self->rafts, (n + 1) * sizeof *self->rafts);
    size_t nm = 0, ns = 0, nr = 0;
    for (s_entry_t *e = zhashx_first (self->entries); e; e = zhashx_next (self->entries)) {
        int64_t age = now - e->seen;
        if (age > self->forget_ns) {
            zlistx_add_end (drop, strdup (zhashx_cursor (self->entries)));
            continue;
        }
        if (e->raft)
            self->rafts[nr++] = (metrics_raft_t){e->member, e->store, age <= s_beat_ns (0)};
        else if (e->store)
            self->stores[ns++] =
                (metrics_store_t){e->member, e->store, age <= s_beat_ns (0), e->restarts};
        else
            self->members[nm++] = (metrics_member_t){
                e->component, e->member, e->hb, age <= s_beat_ns (e->hb->interval_ms), e->restarts};
    }
    s_drop (self->entries, drop);
    n = zhashx_size (self->usage);
    self->fresh = hs_realloc (self->fresh, (n + 1) * sizeof *self->fresh);
    size_t nu = 0;
    for (s_usage_t *e = zhashx_first (self->usage); e; e = zhashx_next (self->usage)) {
        int64_t age = now - e->seen, stale = s_beat_ns (e->u->interval_ms);
        if (stale < MIN_STALE_NS) stale = MIN_STALE_NS;
        if (age > self->forget_ns)
            zlistx_add_end (drop, strdup (zhashx_cursor (self->usage)));
        else if (age <= stale)
            self->fresh[nu++] = e->u;
    }
    s_drop (self->usage, drop);
    zlistx_destroy (&drop);
    in->members = self->members;
    in->n_members = nm;
    in->stores = self->stores;
    in->n_stores = ns;
    in->rafts = self->rafts;
    in->n_rafts = nr;
    in->usage = self->fresh;
    in->n_usage = nu;
}

size_t metrics_cache_size (metrics_cache_t *self)
{
    return zhashx_size (self->entries) + zhashx_size (self->usage);
}
