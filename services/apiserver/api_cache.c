/*  api_cache.c: hs-apiserver's watch cache (api_server.h).
 *
 *  The store of record is one hs_watch over every kind on the gateway's own
 *  connection: gets and lists read its cache. On top of it:
 *
 *    - a ring of the last N events (type, revision, the object packed)
 *      for resourceVersion replay, bounded by count and by the sum of
 *      the packed sizes (--watch-ring, --watch-ring-bytes): the oldest
 *      events leave first and raise the oldest revision a watch may
 *      start from (older ones get 410 Expired). A replay unpacks the
 *      events it sends, one at a time. An event's revision is its object's
 *      metadata.resourceVersion: the store stamps the commit's revision
 *      on it, on a deletion's last state too (else hs_watch_revision at
 *      callback time, which hs_client advances to the event's revision
 *      before it calls back). The ring starts at the first load's revision
 *      and starts again after every resync (hs_watch_resyncs grows): the
 *      events a resync reports are the difference to a snapshot, with no
 *      revision of their own, so a watch that began before it gets 410
 *      Expired and relists. Events at or below the ring's base are part of
 *      the state at the base and are not kept.
 *    - a count of objects per namespace (a sorted array, updated on each
 *      event: the watch's ADDED and DELETED follow its cache), so the
 *      namespaces in use need no scan, and namespace watchers hear only
 *      of a count going 0 -> 1 or 1 -> 0.
 *    - watchers, one list per kind, filtered by namespace. A watcher that
 *      ends itself from its callback is only marked; the list drops it once
 *      the dispatch is over.
 *    - read-your-writes waiters: a heap by revision, fired from a loop post
 *      hook (after any iteration that may have moved the cache's revision:
 *      events and hb.store heartbeats both do), and a heap by deadline with
 *      one loop timer. Waiters never fire inside api_cache_wait_rev itself.
 */
#include "api_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hs_log.h"
#include "hs_util.h"

#define RING_DEFAULT       100000
#define RING_BYTES_DEFAULT ((size_t)256 << 20)

/* An event as the ring keeps it: packed (the bytes the ring's bound
 * counts), with what a replay filters on beside it. */
typedef struct {
    Hs__EventType type;
    int64_t rev;
    hs_kind_t kind;
    char *ns;      /* "" for a cluster-scoped kind */
    uint8_t *data; /* the object, packed */
    size_t len;
} s_event_t;

struct api_watcher {
    api_cache_t *cache;
    hs_kind_t kind;
    char *ns; /* "" = all */
    api_watch_fn *fn;
    api_ns_watch_fn *ns_fn; /* a namespace watcher (on c->ns_watchers) */
    void *arg;
    bool dead;
    api_watcher_t *next;
};

/* A namespace in use: how many objects are in it, and the earliest
 * creation time among those that came while it was in use. */
typedef struct {
    char *name;
    size_t count;
    int64_t created; /* INT64_MAX: none known */
} s_nsent_t;

typedef struct {
    int64_t rev;
    int64_t deadline; /* monotonic ns */
    api_rev_fn *fn;
    void *arg;
    int refs; /* one per heap it is in */
    bool done;
} s_waiter_t;

typedef struct {
    s_waiter_t **items;
    size_t n, cap;
    bool by_deadline;
} s_heap_t;

struct api_cache {
    hs_client_t *client;
    hs_watch_t *watch;
    hs_loop_t *loop;
    hs_loop_post_t *post;
    hs_loop_timer_t *timer;

    s_event_t *ring;
    size_t ring_max, ring_cap, head, n;
    size_t ring_bytes, bytes; /* bound and sum of the ring's packed sizes */
    bool based;               /* the first load happened: oldest is meaningful */
    int64_t oldest;
    uint64_t resyncs;

    api_watcher_t *watchers[HS_KIND__COUNT];
    api_watcher_t *ns_watchers;

    s_nsent_t *nss; /* namespaces with objects, sorted by name */
    size_t n_nss, cap_nss;
    int64_t earliest; /* the oldest creation time seen: the cluster's age */
    int dispatching;
    bool reap; /* a watcher died during a dispatch */

    s_heap_t by_rev, by_deadline;
    int64_t created_ns;
};

/* ------------------------------------------------------------ waiters' heaps */

static int64_t s_key (const s_heap_t *h, const s_waiter_t *w)
{
    return h->by_deadline ? w->deadline : w->rev;
}

static void s_heap_push (s_heap_t *h, s_waiter_t *w)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->items = hs_realloc (h->items, h->cap * sizeof *h->items);
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (s_key (h, h->items[p]) <= s_key (h, w)) break;
        h->items[i] = h->items[p];
        i = p;
    }
    h->items[i] = w;
}

static s_waiter_t *s_heap_pop (s_heap_t *h)
{
    if (h->n == 0) return NULL;
    s_waiter_t *top = h->items[0];
    s_waiter_t *last = h->items[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        int64_t km = s_key (h, last);
        if (l < h->n && s_key (h, h->items[l]) < km) {
            m = l;
            km = s_key (h, h->items[l]);
        }
        if (r < h->n && s_key (h, h->items[r]) < km) m = r;
        if (m == i) break;
        h->items[i] = h->items[m];
        i = m;
    }
    if (h->n > 0) h->items[i] = last;
    return top;
}

static void s_waiter_unref (s_waiter_t *w)
{
    if (--w->refs == 0) free (w);
}

/* ------------------------------------------------------------ the ring */

static s_event_t *s_ring_at (api_cache_t *c, size_t i)
{
    return &c->ring[(c->head + i) % c->ring_cap];
}

static void s_event_free (api_cache_t *c, s_event_t *e)
{
    c->bytes -= e->len;
    free (e->ns);
    free (e->data);
}

static void s_ring_clear (api_cache_t *c)
{
    for (size_t i = 0; i < c->n; i++) s_event_free (c, s_ring_at (c, i));
    c->n = 0;
    c->head = 0;
}

/* The oldest event leaves: a watch must now start at its revision or
 * later (it needs the events after its revision). */
static void s_ring_drop (api_cache_t *c)
{
    s_event_t *e = s_ring_at (c, 0);
    if (e->rev > c->oldest) c->oldest = e->rev;
    s_event_free (c, e);
    c->head = (c->head + 1) % c->ring_cap;
    c->n--;
}

static void s_ring_push (api_cache_t *c, Hs__EventType type, const Hs__Object *obj, int64_t rev)
{
    if (c->ring_max == 0) return;
    if (c->n == c->ring_max) {
        s_ring_drop (c);
    } else if (c->n == c->ring_cap) {
        size_t cap = c->ring_cap ? c->ring_cap * 2 : 1024;
        if (cap > c->ring_max) cap = c->ring_max;
        s_event_t *ring = hs_malloc (cap * sizeof *ring);
        for (size_t i = 0; i < c->n; i++) ring[i] = *s_ring_at (c, i);
        free (c->ring);
        c->ring = ring;
        c->ring_cap = cap;
        c->head = 0;
    }
    s_event_t *e = s_ring_at (c, c->n++);
    const Hs__ObjectMeta *m = hs_obj_meta (obj);
    e->type = type;
    e->rev = rev;
    e->kind = hs_obj_kind (obj);
    e->ns = hs_strdup (m ? hs_s (m->namespace_) : "");
    e->data = hs_pb_pack (obj, &e->len);
    c->bytes += e->len;
    /* Bounded by bytes too: a few thousand copies of a 1 MiB ConfigMap
     * would otherwise hold gigabytes. An event larger than the whole
     * bound leaves at once (oldest becomes its revision). */
    while (c->n > 0 && c->bytes > c->ring_bytes) s_ring_drop (c);
}

/* A resync: the ring's events no longer connect to the cache's state. */
static void s_check_resync (api_cache_t *c)
{
    uint64_t rs = hs_watch_resyncs (c->watch);
    if (!c->based || rs == c->resyncs) return;
    log_info ("watch cache resynced at revision %lld: watches from before it get 410 Expired",
              (long long)hs_watch_revision (c->watch));
    s_ring_clear (c);
    c->oldest = hs_watch_revision (c->watch);
    c->resyncs = rs;
}

/* ------------------------------------------------------------ watchers */

static bool s_ns_match (const api_watcher_t *w, const Hs__Object *o)
{
    if (hs_empty (w->ns)) return true;
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    return m && hs_streq (m->namespace_, w->ns);
}

static void s_reap (api_cache_t *c)
{
    if (c->dispatching > 0 || !c->reap) return;
    c->reap = false;
    for (int k = 0; k <= HS_KIND__COUNT; k++) {
        api_watcher_t **pp = k < HS_KIND__COUNT ? &c->watchers[k] : &c->ns_watchers;
        while (*pp) {
            api_watcher_t *w = *pp;
            if (w->dead) {
                *pp = w->next;
                free (w->ns);
                free (w);
            } else {
                pp = &w->next;
            }
        }
    }
}

static void s_dispatch (api_cache_t *c, Hs__EventType type, const Hs__Object *obj, int64_t rev)
{
    hs_kind_t k = hs_obj_kind (obj);
    if (k <= HS_KIND_NONE || k >= HS_KIND__COUNT) return;
    c->dispatching++;
    for (api_watcher_t *w = c->watchers[k]; w; w = w->next)
        if (!w->dead && s_ns_match (w, obj)) w->fn (w->arg, type, obj, rev);
    c->dispatching--;
    s_reap (c);
}

/* ------------------------------------------------------------ namespaces */

/* The index of ns in c->nss, or where it would go (*found false). */
static size_t s_ns_find (const api_cache_t *c, const char *ns, bool *found)
{
    size_t lo = 0, hi = c->n_nss;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp (c->nss[mid].name, ns);
        if (d == 0) {
            *found = true;
            return mid;
        }
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static void s_ns_notify (api_cache_t *c, bool added, const char *ns, int64_t created, int64_t rev)
{
    if (created == INT64_MAX) created = c->earliest;
    c->dispatching++;
    for (api_watcher_t *w = c->ns_watchers; w; w = w->next)
        if (!w->dead) w->ns_fn (w->arg, added, ns, created, rev);
    c->dispatching--;
    s_reap (c);
}

/* Counts obj in or out of its namespace (the watch's types follow its
 * cache: ADDED is a new object, DELETED one gone, MODIFIED neither; a
 * resync's difference too). A namespace's watchers hear of it only when
 * its count goes 0 -> 1 (before the object's own event) or 1 -> 0 (after). */
static void s_ns_count (api_cache_t *c, Hs__EventType type, const Hs__Object *obj, int64_t rev,
                        bool after)
{
    const Hs__ObjectMeta *m = hs_obj_meta (obj);
    if (!m) return;
    if (!after && m->creation_timestamp > 0 && m->creation_timestamp < c->earliest)
        c->earliest = m->creation_timestamp;
    if (hs_empty (m->namespace_)) return;
    bool found;
    size_t i = s_ns_find (c, m->namespace_, &found);
    if (type == HS__EVENT_TYPE__ADDED && !after) {
        if (!found) {
            if (c->n_nss == c->cap_nss) {
                c->cap_nss = c->cap_nss ? c->cap_nss * 2 : 16;
                c->nss = hs_realloc (c->nss, c->cap_nss * sizeof *c->nss);
            }
            memmove (c->nss + i + 1, c->nss + i, (c->n_nss - i) * sizeof *c->nss);
            c->nss[i] = (s_nsent_t){hs_strdup (m->namespace_), 0, INT64_MAX};
            c->n_nss++;
        }
        s_nsent_t *e = &c->nss[i];
        if (m->creation_timestamp > 0 && m->creation_timestamp < e->created)
            e->created = m->creation_timestamp;
        if (e->count++ == 0) s_ns_notify (c, true, e->name, e->created, rev);
    } else if (type == HS__EVENT_TYPE__DELETED && after && found) {
        s_nsent_t e = c->nss[i];
        if (e.count > 1) {
            c->nss[i].count--;
            return;
        }
        memmove (c->nss + i, c->nss + i + 1, (c->n_nss - i - 1) * sizeof *c->nss);
        c->n_nss--;
        s_ns_notify (c, false, e.name, e.created, rev);
        free (e.name);
    }
}

/* ------------------------------------------------------------ loop hooks */

static void s_fire_reached (api_cache_t *c)
{
    int64_t rev = hs_watch_revision (c->watch);
    while (c->by_rev.n > 0 && c->by_rev.items[0]->rev <= rev) {
        s_waiter_t *w = s_heap_pop (&c->by_rev);
        if (!w->done) {
            w->done = true;
            w->fn (w->arg, true); /* may add waiters: the heap is consistent */
        }
        s_waiter_unref (w);
    }
}

static void s_rearm (api_cache_t *c)
{
    while (c->by_deadline.n > 0 && c->by_deadline.items[0]->done)
        s_waiter_unref (s_heap_pop (&c->by_deadline));
    if (c->timer)
        hs_loop_timer_set (c->timer,
                           c->by_deadline.n > 0 ? c->by_deadline.items[0]->deadline : HS_NEVER);
}

static void s_on_post (void *arg)
{
    api_cache_t *c = arg;
    s_check_resync (c);
    if (c->by_rev.n > 0) {
        s_fire_reached (c);
        s_rearm (c);
    }
}

static void s_on_timer (void *arg)
{
    api_cache_t *c = arg;
    s_fire_reached (c); /* reached beats timed out */
    int64_t now = hs_mono_ns ();
    while (c->by_deadline.n > 0 && c->by_deadline.items[0]->deadline <= now) {
        s_waiter_t *w = s_heap_pop (&c->by_deadline);
        if (!w->done) {
            w->done = true;
            w->fn (w->arg, false);
        }
        s_waiter_unref (w);
    }
    s_rearm (c);
}

/* The client may be put on its loop after the cache is made. */
static void s_ensure_loop (api_cache_t *c)
{
    if (c->loop) return;
    c->loop = hs_client_loop (c->client);
    if (!c->loop) return;
    c->post = hs_loop_post (c->loop, s_on_post, c);
    c->timer = hs_loop_timer (c->loop, HS_NEVER, s_on_timer, c);
    s_rearm (c);
}

/* ------------------------------------------------------------ the watch */

static void s_on_event (void *arg, Hs__EventType type, const Hs__Object *obj, const Hs__Object *old)
{
    api_cache_t *c = arg;
    (void)old;
    s_ensure_loop (c);
    int64_t wrev = hs_watch_revision (c->watch);
    if (!c->based) {
        /* The first load: its objects are the state at wrev. */
        c->based = true;
        c->oldest = wrev;
        c->resyncs = hs_watch_resyncs (c->watch);
    } else {
        s_check_resync (c);
    }
    const Hs__ObjectMeta *m = hs_obj_meta (obj);
    /* The store stamps the commit's revision on the object of every event,
     * a deletion's last state included (store_ops.c); wrev, which hs_client
     * advanced to the event's revision before calling back, stands in for
     * an object without one. */
    int64_t rev = m && m->resource_version > 0 ? m->resource_version : wrev;
    if (rev > c->oldest) s_ring_push (c, type, obj, rev);
    s_ns_count (c, type, obj, rev, false);
    s_dispatch (c, type, obj, rev);
    s_ns_count (c, type, obj, rev, true);
}

api_cache_t *api_cache_new (hs_client_t *client, size_t ring)
{
    api_cache_t *c = hs_calloc (1, sizeof *c);
    c->client = client;
    c->ring_max = ring ? ring : RING_DEFAULT;
    c->ring_bytes = RING_BYTES_DEFAULT;
    c->by_deadline.by_deadline = true;
    c->created_ns = hs_now_ns ();
    c->earliest = c->created_ns;
    hs_watch_opts_t o = {.fn = s_on_event, .arg = c};
    c->watch = hs_client_watch (client, &o);
    if (!c->watch) {
        free (c);
        return NULL;
    }
    s_ensure_loop (c);
    return c;
}

void api_cache_destroy (api_cache_t **c_p)
{
    api_cache_t *c = *c_p;
    if (!c) return;
    /* The watch itself lives as long as the client (hs_client_watch). Its
     * callback must not reach a freed cache: the client goes first, or
     * this is the end of the process. Waiters still pending are told "not
     * reached" while the cache still stands, so they free what they hold;
     * the server is destroyed first, so their requests are gone and none
     * waits again. */
    hs_loop_post_free (&c->post);
    hs_loop_timer_free (&c->timer);
    s_waiter_t *pending;
    while ((pending = s_heap_pop (&c->by_rev))) {
        if (!pending->done) {
            pending->done = true;
            pending->fn (pending->arg, false);
        }
        s_waiter_unref (pending);
    }
    s_ring_clear (c);
    free (c->ring);
    for (int k = 0; k <= HS_KIND__COUNT; k++) {
        api_watcher_t *w = k < HS_KIND__COUNT ? c->watchers[k] : c->ns_watchers;
        while (w) {
            api_watcher_t *next = w->next;
            free (w->ns);
            free (w);
            w = next;
        }
    }
    s_waiter_t *w;
    while ((w = s_heap_pop (&c->by_rev))) s_waiter_unref (w);
    while ((w = s_heap_pop (&c->by_deadline))) s_waiter_unref (w);
    free (c->by_rev.items);
    free (c->by_deadline.items);
    for (size_t i = 0; i < c->n_nss; i++) free (c->nss[i].name);
    free (c->nss);
    free (c);
    *c_p = NULL;
}

bool api_cache_synced (api_cache_t *c)
{
    return hs_watch_synced (c->watch);
}

int64_t api_cache_rev (api_cache_t *c)
{
    return hs_watch_revision (c->watch);
}

const Hs__Object *api_cache_get (api_cache_t *c, hs_kind_t kind, const char *ns, const char *name)
{
    const hs_kind_info_t *ki = hs_kind_info (kind);
    if (!ki || hs_empty (name)) return NULL;
    return hs_watch_get (c->watch, kind, ki->namespaced ? hs_s (ns) : "", name);
}

size_t api_cache_list (api_cache_t *c, hs_kind_t kind, const char *ns, const Hs__Object ***ret)
{
    const Hs__Object **all = NULL;
    size_t n = hs_kind_info (kind) ? hs_watch_list (c->watch, kind, &all) : 0;
    if (hs_empty (ns)) {
        *ret = all;
        return n;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const Hs__ObjectMeta *m = hs_obj_meta (all[i]);
        if (m && hs_streq (m->namespace_, ns)) all[k++] = all[i];
    }
    *ret = all;
    return k;
}

size_t api_cache_namespaces (api_cache_t *c, const char ***ret_names, int64_t **ret_created)
{
    /* the namespaces with objects (kept sorted, counted per event), with
     * default and kube-system merged in: they always exist, and with no
     * object in them they are as old as the oldest object (the cluster) */
    static const char *const always[] = {"default", "kube-system"};
    const char **names = hs_malloc ((c->n_nss + 2) * sizeof *names);
    int64_t *created = hs_malloc ((c->n_nss + 2) * sizeof *created);
    size_t m = 0, a = 0;
    for (size_t i = 0; i <= c->n_nss; i++) {
        const char *next = i < c->n_nss ? c->nss[i].name : NULL;
        for (; a < HS_ARRAY_LEN (always) && (!next || strcmp (always[a], next) < 0); a++) {
            names[m] = always[a];
            created[m++] = c->earliest;
        }
        if (!next) break;
        if (a < HS_ARRAY_LEN (always) && !strcmp (always[a], next)) a++;
        names[m] = next;
        created[m++] = c->nss[i].created == INT64_MAX ? c->earliest : c->nss[i].created;
    }
    *ret_names = names;
    *ret_created = created;
    return m;
}

/* ------------------------------------------------------------ watchers */

/* The first ring index whose revision is above rev (the ring is in commit
 * order, so its revisions do not decrease). */
static size_t s_ring_after (api_cache_t *c, int64_t rev)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s_ring_at (c, mid)->rev <= rev)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int api_cache_watch (api_cache_t *c, hs_kind_t kind, const char *ns, int64_t from_rev,
                     api_watch_fn *fn, void *arg, api_watcher_t **ret)
{
    if (!hs_kind_info (kind) || !fn) return -EINVAL;
    s_check_resync (c);
    if (from_rev > 0 && (!c->based || from_rev < c->oldest)) return -ERANGE;
    api_watcher_t *w = hs_calloc (1, sizeof *w);
    w->cache = c;
    w->kind = kind;
    w->ns = hs_strdup (hs_s (ns));
    w->fn = fn;
    w->arg = arg;
    w->next = c->watchers[kind];
    c->watchers[kind] = w;
    *ret = w;
    if (from_rev > 0) {
        /* fn may end the watch while it replays (a client gone). */
        c->dispatching++;
        for (size_t i = s_ring_after (c, from_rev); i < c->n && !w->dead; i++) {
            const s_event_t *e = s_ring_at (c, i);
            if (e->kind != kind || (!hs_empty (w->ns) && strcmp (e->ns, w->ns) != 0)) continue;
            Hs__Object *o = (Hs__Object *)protobuf_c_message_unpack (
                &hs__object__descriptor, &hs_pb_allocator, e->len, e->data);
            if (!o) abort (); /* our own packing always decodes */
            fn (arg, e->type, o, e->rev);
            hs_pb_free (o);
        }
        c->dispatching--;
        s_reap (c);
    }
    return 0;
}

int api_cache_watch_namespaces (api_cache_t *c, api_ns_watch_fn *fn, void *arg, api_watcher_t **ret)
{
    if (!fn) return -EINVAL;
    api_watcher_t *w = hs_calloc (1, sizeof *w);
    w->cache = c;
    w->kind = HS_KIND_NONE;
    w->ns = hs_strdup ("");
    w->ns_fn = fn;
    w->arg = arg;
    w->next = c->ns_watchers;
    c->ns_watchers = w;
    *ret = w;
    return 0;
}

void api_cache_unwatch (api_cache_t *c, api_watcher_t **w_p)
{
    api_watcher_t *w = *w_p;
    if (!w) return;
    *w_p = NULL;
    w->dead = true;
    c->reap = true;
    s_reap (c);
}

void api_cache_set_ring_bytes (api_cache_t *c, size_t bytes)
{
    c->ring_bytes = bytes ? bytes : RING_BYTES_DEFAULT;
    while (c->n > 0 && c->bytes > c->ring_bytes) s_ring_drop (c);
}

int64_t api_cache_oldest (api_cache_t *c)
{
    s_check_resync (c);
    return c->based ? c->oldest : api_cache_rev (c);
}

void api_cache_wait_rev (api_cache_t *c, int64_t rev, int timeout_ms, api_rev_fn *fn, void *arg)
{
    s_ensure_loop (c);
    s_waiter_t *w = hs_calloc (1, sizeof *w);
    w->rev = rev;
    w->deadline = hs_mono_ns () + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
    w->fn = fn;
    w->arg = arg;
    w->refs = 2;
    s_heap_push (&c->by_rev, w);
    s_heap_push (&c->by_deadline, w);
    s_rearm (c);
}
