/*  proxy.c: the proxier (proxy.h): per-Service wanted/applied models,
 *  full and incremental syncs, stale chains, UDP conntrack. */
#include "proxy.h"

#include "proxy_ct.h"
#include "proxy_nft.h"

#include "hs_log.h"
#include "hs_loop.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SEC (1000LL * 1000 * 1000)

typedef struct {
    char *key;
    proxy_svc_t *want; /* what the Service asks now */
    proxy_svc_t *have; /* what the kernel has (may be want itself) */
    proxy_svc_t *next; /* during a sync: what it is about to have */
    bool dirty;
} s_entry_t;

typedef struct {
    char *what; /* "chain NAME" / "set NAME" */
    int64_t since;
} s_stale_t;

/* How many applied Services have each hairpin-endpoints address: open
 * addressing on the address (0.0.0.0 is never an endpoint). Rebuilt by
 * every full sync, so addresses long gone do not pile up. */
typedef struct {
    uint32_t *keys;
    uint32_t *counts;
    size_t cap, used;
} s_refs_t;

static uint32_t *s_refs_slot (s_refs_t *r, uint32_t ip)
{
    if ((r->used + 1) * 2 > r->cap) {
        s_refs_t g = {.cap = r->cap ? r->cap * 2 : 1024};
        g.keys = hs_calloc (g.cap, sizeof *g.keys);
        g.counts = hs_calloc (g.cap, sizeof *g.counts);
        for (size_t i = 0; i < r->cap; i++)
            if (r->keys[i]) *s_refs_slot (&g, r->keys[i]) = r->counts[i];
        free (r->keys);
        free (r->counts);
        *r = g;
    }
    size_t i = (ip * 2654435761u) & (r->cap - 1);
    while (r->keys[i] && r->keys[i] != ip) i = (i + 1) & (r->cap - 1);
    if (!r->keys[i]) {
        r->keys[i] = ip;
        r->used++;
    }
    return &r->counts[i];
}

static void s_refs_clear (s_refs_t *r)
{
    free (r->keys);
    free (r->counts);
    *r = (s_refs_t){0};
}

struct proxy_t {
    s_refs_t hairpin;
    proxy_opts_t opts;
    proxy_nft_t *nft;
    s_entry_t *entries; /* sorted by key */
    size_t n, cap;
    size_t n_dirty;
    s_stale_t *stale;
    size_t n_stale;
    bool need_full;
    int64_t last_sync_at; /* when the last sync attempt ended */
    int64_t last_full_at; /* when the last full sync succeeded */
    int64_t retry_at;     /* after a failure: not before */
    int64_t backoff_ns;
    uint32_t genid;   /* the ruleset generation our last transaction made */
    bool genid_ok;    /* ... and nobody else's came with it */
    char *last_error; /* the last error logged, to log each once */
    proxy_stats_t stats;
    proxy_ct_gone_t *gone;
    size_t n_gone, cap_gone;
};

proxy_t *proxy_new (const proxy_opts_t *opts)
{
    proxy_t *self = hs_calloc (1, sizeof *self);
    self->opts = *opts;
    self->need_full = true;
    self->last_sync_at = INT64_MIN / 2;
    return self;
}

static void s_entry_free (s_entry_t *e)
{
    if (e->have != e->want) proxy_svc_destroy (&e->have);
    proxy_svc_destroy (&e->want);
    free (e->key);
}

void proxy_destroy (proxy_t **self_p)
{
    proxy_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->n; i++) s_entry_free (&self->entries[i]);
    free (self->entries);
    for (size_t i = 0; i < self->n_stale; i++) free (self->stale[i].what);
    free (self->stale);
    free (self->gone);
    free (self->last_error);
    s_refs_clear (&self->hairpin);
    proxy_nft_destroy (&self->nft);
    free (self);
    *self_p = NULL;
}

static size_t s_find (const proxy_t *self, const char *key, bool *ret_found)
{
    size_t lo = 0, hi = self->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp (self->entries[mid].key, key);
        if (c == 0) {
            *ret_found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *ret_found = false;
    return lo;
}

void proxy_set (proxy_t *self, const char *key, proxy_svc_t *svc)
{
    bool found;
    size_t i = s_find (self, key, &found);
    if (!found) {
        if (!svc) return;
        if (self->n == self->cap) {
            self->cap = self->cap ? self->cap * 2 : 64;
            self->entries = hs_realloc (self->entries, self->cap * sizeof *self->entries);
        }
        memmove (&self->entries[i + 1], &self->entries[i], (self->n - i) * sizeof *self->entries);
        self->entries[i] = (s_entry_t){.key = hs_strdup (key)};
        self->n++;
    }
    s_entry_t *e = &self->entries[i];
    if (e->want != e->have) proxy_svc_destroy (&e->want);
    e->want = svc;
    if (!e->dirty) self->n_dirty++;
    e->dirty = true;
}

void proxy_force_full (proxy_t *self)
{
    self->need_full = true;
}

const proxy_stats_t *proxy_stats (const proxy_t *self)
{
    return &self->stats;
}

size_t proxy_count (const proxy_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n; i++) n += self->entries[i].have != NULL;
    return n;
}

/* ------------------------------------------------------------------ sync */

/* Whether another entry holds (or is about to hold) ip. */
static bool s_ip_taken (const proxy_t *self, const s_entry_t *me, uint32_t ip, bool full)
{
    for (size_t i = 0; i < self->n; i++) {
        const s_entry_t *e = &self->entries[i];
        if (e == me) continue;
        /* a full sync decides in key order: earlier entries' next */
        const proxy_svc_t *s = full ? (e < me ? e->next : NULL) : (e->dirty ? e->next : e->have);
        if (s && s->cluster_ip == ip) return true;
    }
    return false;
}

static void s_on_gone (void *arg, uint32_t cluster_ip, uint16_t port, uint32_t ep_ip)
{
    proxy_t *self = arg;
    if (self->n_gone == self->cap_gone) {
        self->cap_gone = self->cap_gone ? self->cap_gone * 2 : 16;
        self->gone = hs_realloc (self->gone, self->cap_gone * sizeof *self->gone);
    }
    self->gone[self->n_gone++] = (proxy_ct_gone_t){cluster_ip, port, ep_ip};
}

/* Decides each marked entry's next model (all of them on a full sync). */
static void s_plan (proxy_t *self, bool full)
{
    for (size_t i = 0; i < self->n; i++) {
        s_entry_t *e = &self->entries[i];
        if (!full && !e->dirty) continue;
        e->next = e->want;
        if (e->next && s_ip_taken (self, e, e->next->cluster_ip, full)) {
            char ip[16];
            hs_log_once (HS_LOG_WARN, e->key,
                         "service %s: spec.clusterIP %s is another Service's: left out", e->key,
                         hs_ip_format (e->next->cluster_ip, ip));
            self->stats.skipped++;
            e->next = NULL;
        }
    }
}

/* The sync succeeded: what was next is what the kernel has. */
static void s_commit (proxy_t *self, bool full)
{
    for (size_t i = 0; i < self->n; i++) {
        s_entry_t *e = &self->entries[i];
        if (!full && !e->dirty) continue;
        proxy_udp_gone (e->have, e->next, s_on_gone, self);
        if (e->have != e->want && e->have != e->next) proxy_svc_destroy (&e->have);
        e->have = e->next;
        e->next = NULL;
        e->dirty = false;
    }
    self->n_dirty = 0;
    /* drop entries with nothing left */
    size_t w = 0;
    for (size_t i = 0; i < self->n; i++) {
        s_entry_t *e = &self->entries[i];
        if (!e->want && !e->have) {
            free (e->key);
            continue;
        }
        self->entries[w++] = *e;
    }
    self->n = w;
}

static void s_failed (proxy_t *self, bool full, int r, const char *err, int64_t now)
{
    self->stats.sync_errors++;
    if (!hs_streq (self->last_error, err)) {
        log_error ("%s sync failed (%s); retrying as a full sync: %s",
                   full ? "full" : "incremental", strerror (-r), err);
        free (self->last_error);
        self->last_error = hs_strdup (err);
    }
    for (size_t i = 0; i < self->n; i++) self->entries[i].next = NULL;
    self->need_full = true;
    self->backoff_ns = self->backoff_ns ? self->backoff_ns * 2 : SEC;
    if (self->backoff_ns > self->opts.sync_ns) self->backoff_ns = self->opts.sync_ns;
    self->retry_at = now + self->backoff_ns;
}

static void s_flush_conntrack (proxy_t *self)
{
    if (self->n_gone == 0) return;
    if (!self->opts.no_conntrack) {
        int r = proxy_ct_flush_udp (self->gone, self->n_gone);
        if (r < 0) {
            self->stats.ct_errors++;
            hs_log_once (HS_LOG_WARN, "conntrack",
                         "cannot delete conntrack entries of removed UDP endpoints: %s",
                         strerror (-r));
        } else {
            self->stats.ct_deleted += (uint64_t)r;
            if (r) log_debug ("deleted %d conntrack entries of removed UDP endpoints", r);
        }
    }
    self->n_gone = 0;
}

static void s_stale_add (proxy_t *self, char *what, int64_t now)
{
    for (size_t i = 0; i < self->n_stale; i++)
        if (strcmp (self->stale[i].what, what) == 0) {
            free (what);
            return;
        }
    self->stale = hs_realloc (self->stale, (self->n_stale + 1) * sizeof *self->stale);
    self->stale[self->n_stale++] = (s_stale_t){what, now};
}

/* The entry a stale name belongs to ("chain service-NS/NAME/..."). */
static const s_entry_t *s_stale_owner (const proxy_t *self, const char *what)
{
    const char *p = strchr (what, '-'); /* service-, endpoint-, affinity- */
    if (!p) return NULL;
    p++;
    const char *slash = strchr (p, '/');
    if (!slash) return NULL;
    slash = strchr (slash + 1, '/');
    if (!slash) return NULL;
    _cleanup_free_ char *key = hs_strndup (p, (size_t)(slash - p));
    bool found;
    size_t i = s_find (self, key, &found);
    return found ? &self->entries[i] : NULL;
}

static int s_nft (proxy_t *self, const char **ret_error)
{
    if (self->nft) return 0;
    int r = proxy_nft_new (&self->nft);
    if (r < 0) *ret_error = "libnftables cannot make a context";
    return r;
}

int proxy_sync (proxy_t *self, bool full, int64_t now)
{
    const char *err = NULL;
    int64_t t0 = hs_mono_ns ();
    int r = s_nft (self, &err);
    if (r < 0) {
        s_failed (self, full, r, err, now);
        return r;
    }
    full = full || self->need_full;
    s_plan (self, full);
    char *text = NULL;
    proxy_diff_t d = {0};
    hs_buf_t deletes = {0};
    bool *deleted = NULL;
    if (full) {
        proxy_svc_t **svcs = hs_calloc (self->n ? self->n : 1, sizeof *svcs);
        size_t k = 0;
        for (size_t i = 0; i < self->n; i++)
            if (self->entries[i].next) svcs[k++] = self->entries[i].next;
        text = proxy_render_full (&self->opts.render, svcs, k);
        free (svcs);
        s_refs_clear (&self->hairpin);
        for (size_t i = 0; i < self->n; i++) {
            uint32_t *hp = NULL;
            size_t m = proxy_svc_hairpin (self->entries[i].next, &hp);
            for (size_t j = 0; j < m; j++) (*s_refs_slot (&self->hairpin, hp[j]))++;
            free (hp);
        }
    } else {
        for (size_t i = 0; i < self->n; i++) {
            s_entry_t *e = &self->entries[i];
            if (e->dirty) proxy_diff_service (&d, &self->opts.render, e->have, e->next);
        }
        /* stale chains and sets old enough, unless a Service has them again */
        deleted = hs_calloc (self->n_stale ? self->n_stale : 1, sizeof *deleted);
        for (size_t i = 0; i < self->n_stale; i++) {
            s_stale_t *s = &self->stale[i];
            if (now - s->since < PROXY_STALE_NS) continue;
            const s_entry_t *o = s_stale_owner (self, s->what);
            const proxy_svc_t *live = o ? (o->dirty ? o->next : o->have) : NULL;
            deleted[i] = true;
            if (proxy_svc_has (live, s->what)) continue;
            _cleanup_free_ char *cmd = proxy_render_delete (s->what);
            /* chains first: a set may still be named by a stale chain's
             * (flushed) rules only in the kernel's past */
            if (strncmp (s->what, "chain ", 6) == 0) hs_buf_puts (&deletes, cmd);
        }
        for (size_t i = 0; i < self->n_stale; i++) {
            if (!deleted[i] || strncmp (self->stale[i].what, "set ", 4) != 0) continue;
            const s_entry_t *o = s_stale_owner (self, self->stale[i].what);
            const proxy_svc_t *live = o ? (o->dirty ? o->next : o->have) : NULL;
            if (proxy_svc_has (live, self->stale[i].what)) continue;
            _cleanup_free_ char *cmd = proxy_render_delete (self->stale[i].what);
            hs_buf_puts (&deletes, cmd);
        }
        /* hairpin addresses: added before removed, so one moving between
         * Services in this sync is left alone */
        for (size_t i = 0; i < d.n_hairpin_add; i++)
            if (++*s_refs_slot (&self->hairpin, d.hairpin_add[i]) == 1)
                proxy_render_hairpin (&d.main, d.hairpin_add[i], true);
        for (size_t i = 0; i < d.n_hairpin_del; i++) {
            uint32_t *c = s_refs_slot (&self->hairpin, d.hairpin_del[i]);
            if (*c > 0 && --*c == 0) proxy_render_hairpin (&d.main, d.hairpin_del[i], false);
        }
        if (d.pre.len + d.main.len + d.post.len + deletes.len) {
            hs_buf_t b = {0};
            if (d.pre.len) hs_buf_append (&b, d.pre.data, d.pre.len);
            if (deletes.len) hs_buf_append (&b, deletes.data, deletes.len);
            if (d.main.len) hs_buf_append (&b, d.main.data, d.main.len);
            if (d.post.len) hs_buf_append (&b, d.post.data, d.post.len);
            text = hs_buf_take (&b);
        }
    }
    int64_t t1 = hs_mono_ns ();
    uint32_t g0 = 0, g1 = 0;
    bool g0_ok = text && proxy_nft_genid (self->nft, &g0) == 0;
    r = text ? proxy_nft_run (self->nft, text, &err) : 0;
    int64_t t2 = hs_mono_ns ();
    if (text) {
        /* ours alone if the generation moved by exactly one */
        self->genid_ok = r == 0 && g0_ok && proxy_nft_genid (self->nft, &g1) == 0 && g1 == g0 + 1;
        self->genid = g1;
    }
    bool noop = !text;
    free (text);
    hs_buf_free (&deletes);
    self->last_sync_at = now;
    if (r < 0) {
        proxy_diff_clear (&d);
        free (deleted);
        s_failed (self, full, r, err, now);
        return r;
    }
    s_commit (self, full);
    if (full) {
        for (size_t i = 0; i < self->n_stale; i++) free (self->stale[i].what);
        self->n_stale = 0;
        self->last_full_at = now;
        self->need_full = false;
        self->stats.syncs_full++;
    } else {
        size_t w = 0;
        for (size_t i = 0; i < self->n_stale; i++) {
            if (deleted[i])
                free (self->stale[i].what);
            else
                self->stale[w++] = self->stale[i];
        }
        self->n_stale = w;
        for (size_t i = 0; i < d.n_stale; i++) s_stale_add (self, TAKE_PTR (d.stale[i]), now);
        if (!noop) self->stats.syncs_partial++;
    }
    free (deleted);
    proxy_diff_clear (&d);
    self->backoff_ns = 0;
    self->retry_at = 0;
    free (self->last_error);
    self->last_error = NULL;
    s_flush_conntrack (self);
    self->stats.last_render_ns = t1 - t0;
    self->stats.last_apply_ns = t2 - t1;
    self->stats.last_sync_ns = hs_mono_ns () - t0;
    if (full)
        log_info ("full sync: %zu services in %.1f ms (render %.1f, apply %.1f)",
                  proxy_count (self), (double)self->stats.last_sync_ns / 1e6,
                  (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6);
    return 0;
}

/* When the next sync is due, and whether it is a full one. */
static int64_t s_due (const proxy_t *self, int64_t now, bool *ret_full)
{
    int64_t debounce = self->last_sync_at + self->opts.min_sync_ns;
    int64_t due = HS_NEVER;
    int64_t periodic = self->last_full_at + self->opts.sync_ns;
    *ret_full = self->need_full || now >= periodic;
    if (*ret_full)
        due = self->retry_at > debounce ? self->retry_at : debounce;
    else if (self->n_dirty)
        due = debounce;
    else
        due = periodic;
    for (size_t i = 0; i < self->n_stale; i++) {
        int64_t at = self->stale[i].since + PROXY_STALE_NS;
        if (at < due) due = at > debounce ? at : debounce;
    }
    return due;
}

/* The periodic full sync is due: is the table still exactly what our last
 * transaction left? */
static bool s_untouched (proxy_t *self)
{
    uint32_t g;
    return self->genid_ok && self->nft && proxy_nft_genid (self->nft, &g) == 0 && g == self->genid;
}

int64_t proxy_work (proxy_t *self, int64_t now)
{
    bool full;
    if (s_due (self, now, &full) > now) return s_due (self, now, &full);
    if (full && !self->need_full) {
        if (s_untouched (self)) {
            self->last_full_at = now;
            self->stats.resyncs_skipped++;
            full = false;
        } else {
            log_info ("periodic resync: nftables changed since our last transaction");
        }
    }
    proxy_sync (self, full, now);
    now = hs_mono_ns ();
    return s_due (self, now, &full);
}
