/*  ctl_components.c: `hsctl get components` (docs/architecture.md §3) — every live component
 *  instance, from the heartbeats on hb.*: how far it lags behind the store's
 *  revision and what share of its objects it owns. Heartbeats are not stored,
 *  so this listens to the bus for a few heartbeat intervals.
 */
#include "ctl.h"
#include "ctl_fmt.h"

#include <string.h>

/* Heartbeats come every ~200-250 ms; two seconds catch every live instance. */
#define CTL_COMPONENTS_LISTEN_MS 2000

typedef struct {
    char *component;
    char *instance;
    char *host;
    int64_t started_at_ns;
    int64_t revision;
    uint64_t owned, total;
    bool is_store;
} s_comp_t;

typedef struct {
    s_comp_t *items;
    size_t n;
    int64_t store_revision;
} s_seen_t;

static s_comp_t *s_slot (s_seen_t *s, const char *component, const char *instance)
{
    for (size_t i = 0; i < s->n; i++)
        if (hs_streq (s->items[i].component, component) &&
            hs_streq (s->items[i].instance, instance))
            return &s->items[i];
    s->items = hs_realloc (s->items, (s->n + 1) * sizeof (s_comp_t));
    s_comp_t *c = &s->items[s->n++];
    memset (c, 0, sizeof *c);
    c->component = hs_strdup (component);
    c->instance = hs_strdup (instance);
    return c;
}

static void s_on_hb (void *arg, const char *topic, const Hs__Envelope *env)
{
    s_seen_t *s = arg;
    if (env->body_case == HS__ENVELOPE__BODY_STORE_HEARTBEAT) {
        const Hs__StoreHeartbeat *hb = env->store_heartbeat;
        const char *slash = strchr (hs_s (env->sender), '/');
        s_comp_t *c = s_slot (s, "hs-store",
                              !hs_empty (hb->instance) ? hb->instance
                              : slash                  ? slash + 1
                                                       : env->sender);
        c->is_store = true;
        c->started_at_ns = hb->started_at_ns;
        c->revision = hb->revision;
        c->total = hb->objects;
        if (hb->revision > s->store_revision) s->store_revision = hb->revision;
    } else if (env->body_case == HS__ENVELOPE__BODY_HEARTBEAT) {
        const Hs__ComponentHeartbeat *hb = env->heartbeat;
        s_comp_t *c = s_slot (s, hb->component, hb->instance);
        free (c->host);
        c->host = hs_strdup (hb->host);
        c->started_at_ns = hb->started_at_ns;
        c->revision = hb->observed_revision;
        c->owned = hb->owned;
        c->total = hb->total;
    }
}

static int s_cmp (const void *a, const void *b)
{
    const s_comp_t *x = a, *y = b;
    int r = strcmp (hs_s (x->component), hs_s (y->component));
    return r ? r : strcmp (hs_s (x->instance), hs_s (y->instance));
}

int ctl_get_components (ctl_t *ctl, bool no_headers)
{
    if (ctl_connect (ctl) < 0) return 1;
    s_seen_t s = {0};
    hs_client_on (ctl->client, "hb.", s_on_hb, &s);
    int64_t deadline = hs_mono_ns () + (int64_t)CTL_COMPONENTS_LISTEN_MS * 1000000;
    while (hs_mono_ns () < deadline) hs_client_process (ctl->client, 50);
    if (s.n == 0) {
        fprintf (stderr, "No resources found\n");
        return 0;
    }
    qsort (s.items, s.n, sizeof (s_comp_t), s_cmp);
    hs_buf_t b = {0};
    if (!no_headers) hs_buf_puts (&b, "NAME\tINSTANCE\tHOST\tAGE\tREVISION\tLAG\tOWNED\n");
    int64_t now = hs_now_ns ();
    for (size_t i = 0; i < s.n; i++) {
        const s_comp_t *c = &s.items[i];
        char age[32], lag[32], owned[64];
        hs_fmt_age (c->started_at_ns, now, age, sizeof age);
        /* a component that follows no state (the broker) has no lag */
        bool follows = c->is_store || c->revision > 0;
        if (follows)
            snprintf (
                lag, sizeof lag, "%lld",
                (long long)(s.store_revision > c->revision ? s.store_revision - c->revision : 0));
        else
            snprintf (lag, sizeof lag, "-");
        if (c->is_store)
            snprintf (owned, sizeof owned, "%llu objects", (unsigned long long)c->total);
        else if (c->total)
            snprintf (owned, sizeof owned, "%llu/%llu (%llu%%)", (unsigned long long)c->owned,
                      (unsigned long long)c->total,
                      (unsigned long long)(c->owned * 100 / c->total));
        else
            snprintf (owned, sizeof owned, "%llu", (unsigned long long)c->owned);
        char *cells[] = {c->component, c->instance, hs_empty (c->host) ? (char *)"<none>" : c->host,
                         age,          (char *)"",  lag,
                         owned};
        char rev[32];
        snprintf (rev, sizeof rev, "%lld", (long long)c->revision);
        if (!follows) snprintf (rev, sizeof rev, "-");
        cells[4] = rev;
        ctl_row_append (&b, cells, HS_ARRAY_LEN (cells));
    }
    _cleanup_free_ char *text = hs_buf_take (&b);
    _cleanup_free_ char *out = ctl_tabwrite (text, 6, 3);
    fputs (out, stdout);
    for (size_t i = 0; i < s.n; i++) {
        free (s.items[i].component);
        free (s.items[i].instance);
        free (s.items[i].host);
    }
    free (s.items);
    return 0;
}
