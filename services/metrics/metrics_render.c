/*  metrics_render.c: the /metrics page (metrics_render.h).
 *
 *  Written straight into one growable buffer with hand-rolled number
 *  formatting: a page for 10,000 pods is some 200,000 lines, and printf
 *  per line would be most of the time spent (docs/architecture.md §25).
 */
#include "metrics_render.h"
#include "hs_obj.h"
#include "hs_quantity.h"
#include "hs_workload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ writing */

typedef struct {
    hs_buf_t *out;
    char **seen; /* family names written so far */
    size_t n_seen, cap_seen;
} s_ctx_t;

/* Appends without hs_buf_append's call and NUL per piece: the page is
 * hundreds of thousands of short pieces. metrics_render NUL-terminates. */
static inline void s_app (hs_buf_t *o, const void *p, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        hs_buf_append (o, p, n);
        return;
    }
    memcpy (o->data + o->len, p, n);
    o->len += n;
}

static inline void s_putc (hs_buf_t *o, char c)
{
    if (o->len + 2 > o->cap)
        hs_buf_append (o, &c, 1);
    else
        o->data[o->len++] = c;
}

static inline void s_puts (hs_buf_t *o, const char *s)
{
    s_app (o, s, strlen (s));
}

static void s_u64 (hs_buf_t *o, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    s_app (o, tmp + i, sizeof tmp - i);
}

static void s_i64 (hs_buf_t *o, int64_t v)
{
    if (v < 0) {
        s_putc (o, '-');
        s_u64 (o, (uint64_t)0 - (uint64_t)v);
    } else
        s_u64 (o, (uint64_t)v);
}

/* a / 10^digits (scale), exactly, without trailing zeros. */
static void s_ufixed (hs_buf_t *o, uint64_t a, int digits, uint64_t scale)
{
    s_u64 (o, a / scale);
    uint64_t frac = a % scale;
    if (!frac) return;
    char tmp[20];
    for (int i = digits - 1; i >= 0; i--) {
        tmp[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    int n = digits;
    while (n > 0 && tmp[n - 1] == '0') n--;
    s_putc (o, '.');
    s_app (o, tmp, (size_t)n);
}

static void s_fixed (hs_buf_t *o, int64_t v, int digits, uint64_t scale)
{
    if (v < 0) s_putc (o, '-');
    s_ufixed (o, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, digits, scale);
}

static void s_ns_seconds (hs_buf_t *o, int64_t ns)
{
    s_fixed (o, ns, 9, 1000000000ULL);
}

static void s_double (hs_buf_t *o, double v)
{
    if (isnan (v)) return s_puts (o, "NaN");
    if (isinf (v)) return s_puts (o, v > 0 ? "+Inf" : "-Inf");
    /* the range first: converting a double outside int64 is undefined */
    if (fabs (v) < 9e15 && v == (double)(int64_t)v) return s_i64 (o, (int64_t)v);
    char tmp[32];
    snprintf (tmp, sizeof tmp, "%.15g", v);
    if (strtod (tmp, NULL) != v) snprintf (tmp, sizeof tmp, "%.17g", v);
    s_puts (o, tmp);
}

static void s_name (hs_buf_t *o, const char *s)
{
    if (!s || !*s) return s_putc (o, '_');
    if (*s >= '0' && *s <= '9') s_putc (o, '_');
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        s_putc (o, ok ? c : '_');
    }
}

/* The length of the valid UTF-8 sequence at s (whose first byte is >= 0x80), or 0. */
static size_t s_utf8_len (const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0; /* the NUL ends it too */
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

static void s_value (hs_buf_t *o, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        const unsigned char *run = p;
        while (*p >= 0x20 && *p < 0x80 && *p != '\\' && *p != '"') p++;
        if (p > run) s_app (o, run, (size_t)(p - run));
        if (!*p) break;
        if (*p == '\\')
            s_puts (o, "\\\\"), p++;
        else if (*p == '"')
            s_puts (o, "\\\""), p++;
        else if (*p == '\n')
            s_puts (o, "\\n"), p++;
        else if (*p < 0x80)
            s_putc (o, (char)*p++); /* other controls are valid text */
        else {
            size_t n = s_utf8_len (p);
            if (n)
                s_app (o, p, n), p += n;
            else
                s_puts (o, "\xef\xbf\xbd"), p++;
        }
    }
}

/* The buffer's text, NUL-terminated (the pieces do not write one). */
static char *s_take (hs_buf_t *b)
{
    hs_buf_append (b, "", 0);
    return hs_buf_take (b);
}

void metrics_put_double (hs_buf_t *o, double v)
{
    s_double (o, v);
    hs_buf_append (o, "", 0);
}

void metrics_put_name (hs_buf_t *o, const char *s)
{
    s_name (o, s);
    hs_buf_append (o, "", 0);
}

void metrics_put_value (hs_buf_t *o, const char *s)
{
    s_value (o, s);
    hs_buf_append (o, "", 0);
}

/* Starts a family: false when one of that name was written already (then
 * the caller writes none of its series). */
static bool s_family (s_ctx_t *c, const char *name, const char *type, const char *help)
{
    for (size_t i = 0; i < c->n_seen; i++)
        if (strcmp (c->seen[i], name) == 0) return false;
    if (c->n_seen == c->cap_seen) {
        c->cap_seen = c->cap_seen ? 2 * c->cap_seen : 64;
        c->seen = hs_realloc (c->seen, c->cap_seen * sizeof *c->seen);
    }
    c->seen[c->n_seen++] = hs_strdup (name);
    s_puts (c->out, "# HELP ");
    s_puts (c->out, name);
    s_putc (c->out, ' ');
    s_puts (c->out, help);
    s_puts (c->out, "\n# TYPE ");
    s_puts (c->out, name);
    s_putc (c->out, ' ');
    s_puts (c->out, type);
    s_putc (c->out, '\n');
    return true;
}

/* A series: name{ then labels (s_lbl), then s_end* with the value. */
static inline void s_open (hs_buf_t *o, const char *name)
{
    s_puts (o, name);
    s_putc (o, '{');
}

static inline void s_lbl (hs_buf_t *o, const char *key, const char *value)
{
    s_puts (o, key);
    s_puts (o, "=\"");
    s_value (o, value);
    s_puts (o, "\",");
}

/* Ends the label set. */
static inline void s_close (hs_buf_t *o)
{
    if (o->data[o->len - 1] == ',')
        o->data[o->len - 1] = '}';
    else
        s_putc (o, '}');
    s_putc (o, ' ');
}

static inline void s_end_u64 (hs_buf_t *o, uint64_t v)
{
    s_close (o);
    s_u64 (o, v);
    s_putc (o, '\n');
}

static inline void s_end_i64 (hs_buf_t *o, int64_t v)
{
    s_close (o);
    s_i64 (o, v);
    s_putc (o, '\n');
}

static inline void s_end_double (hs_buf_t *o, double v)
{
    s_close (o);
    s_double (o, v);
    s_putc (o, '\n');
}

static inline void s_end_ns (hs_buf_t *o, int64_t ns)
{
    s_close (o);
    s_ns_seconds (o, ns);
    s_putc (o, '\n');
}

/* An unsigned count of ns (a CPU time from the bus: any uint64) as seconds. */
static inline void s_end_uns (hs_buf_t *o, uint64_t ns)
{
    s_close (o);
    s_ufixed (o, ns, 9, 1000000000ULL);
    s_putc (o, '\n');
}

/* A series whose labels were written once into a prefix (without braces). */
static inline void s_pre (hs_buf_t *o, const char *name, const char *pre, size_t len)
{
    s_open (o, name);
    s_app (o, pre, len);
    s_putc (o, ',');
}

/* ------------------------------------------------------------------ the system */

typedef struct {
    const char *component, *member;
    Hs__Counter **c;
    size_t nc;
    Hs__Gauge **g;
    size_t ng;
    Hs__Histogram **h;
    size_t nh;
} s_src_t;

static int s_src_cmp (const void *a, const void *b)
{
    const s_src_t *x = a, *y = b;
    int r = strcmp (x->component, y->component);
    return r ? r : strcmp (x->member, y->member);
}

/* homeostat_<component>_<name><suffix>, sanitized, into a fresh string. */
static char *s_generic_name (const char *component, const char *name, const char *suffix)
{
    hs_buf_t b = {0};
    s_puts (&b, "homeostat_");
    s_name (&b, component);
    s_putc (&b, '_');
    s_name (&b, name);
    size_t n = strlen (suffix);
    if (n && !(b.len >= n && strcmp (b.data + b.len - n, suffix) == 0)) s_puts (&b, suffix);
    return s_take (&b);
}

static bool s_hist_ok (const Hs__Histogram *h)
{
    if (h->n_counts != h->n_bounds) return false;
    for (size_t i = 0; i < h->n_bounds; i++) {
        if (!isfinite (h->bounds[i]) || (i && h->bounds[i] <= h->bounds[i - 1])) return false;
        if ((i && h->counts[i] < h->counts[i - 1]) || h->counts[i] > h->count) return false;
    }
    return !isnan (h->sum);
}

static void s_hist_series (hs_buf_t *o, const char *fam, const char *member, const Hs__Histogram *h)
{
    size_t n = strlen (fam);
    char *name = hs_malloc (n + 8);
    memcpy (name, fam, n);
    strcpy (name + n, "_bucket");
    for (size_t i = 0; i <= h->n_bounds; i++) {
        s_open (o, name);
        s_lbl (o, "member", member);
        s_puts (o, "le=\"");
        if (i < h->n_bounds)
            s_double (o, h->bounds[i]);
        else
            s_puts (o, "+Inf");
        s_puts (o, "\",");
        s_end_u64 (o, i < h->n_bounds ? h->counts[i] : h->count);
    }
    strcpy (name + n, "_sum");
    s_open (o, name);
    s_lbl (o, "member", member);
    s_end_double (o, h->sum);
    strcpy (name + n, "_count");
    s_open (o, name);
    s_lbl (o, "member", member);
    s_end_u64 (o, h->count);
    free (name);
}

/* What kind of value the i-th item of src is, by kind k (0 counter, 1 gauge, 2 histogram). */
static const char *s_item_name (const s_src_t *s, int k, size_t i)
{
    return k == 0 ? s->c[i]->name : k == 1 ? s->g[i]->name : s->h[i]->name;
}

static size_t s_items (const s_src_t *s, int k)
{
    return k == 0 ? s->nc : k == 1 ? s->ng : s->nh;
}

/* Every counter, gauge and histogram of one component's instances src[0..n). */
static void s_generic (s_ctx_t *c, const s_src_t *src, size_t n)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    static const char *const suffix[] = {"_total", "", ""};
    for (int k = 0; k < 3; k++) {
        /* each name once: the first instance that has it writes the family */
        for (size_t m = 0; m < n; m++) {
            for (size_t i = 0; i < s_items (&src[m], k); i++) {
                const char *item = s_item_name (&src[m], k, i);
                bool earlier = false;
                for (size_t p = 0; p < m && !earlier; p++)
                    for (size_t j = 0; j < s_items (&src[p], k) && !earlier; j++)
                        earlier = hs_streq (s_item_name (&src[p], k, j), item);
                for (size_t j = 0; j < i && !earlier; j++)
                    earlier = hs_streq (s_item_name (&src[m], k, j), item);
                if (earlier) continue;
                _cleanup_free_ char *fam = s_generic_name (src[m].component, item, suffix[k]);
                _cleanup_free_ char *help = hs_sprintf ("%s %s of %s, from its heartbeats.",
                                                        types[k], hs_s (item), src[m].component);
                /* HELP text: printable ASCII only (no escapes, no bad UTF-8) */
                for (char *h = help; *h; h++)
                    if ((unsigned char)*h < 0x20 || (unsigned char)*h > 0x7e || *h == '\\')
                        *h = '_';
                if (!s_family (c, fam, types[k], help)) continue;
                for (size_t q = m; q < n; q++)
                    for (size_t j = 0; j < s_items (&src[q], k); j++) {
                        if (!hs_streq (s_item_name (&src[q], k, j), item)) continue;
                        if (k == 2) {
                            if (s_hist_ok (src[q].h[j]))
                                s_hist_series (c->out, fam, src[q].member, src[q].h[j]);
                        } else {
                            s_open (c->out, fam);
                            s_lbl (c->out, "member", src[q].member);
                            if (k == 0)
                                s_end_u64 (c->out, src[q].c[j]->value);
                            else
                                s_end_double (c->out, src[q].g[j]->value);
                        }
                        break; /* a name twice in one heartbeat: the first */
                    }
            }
        }
    }
}

static int s_member_cmp (const void *a, const void *b)
{
    const metrics_member_t *x = *(const metrics_member_t *const *)a,
                           *y = *(const metrics_member_t *const *)b;
    int r = strcmp (x->component, y->component);
    return r ? r : strcmp (x->member, y->member);
}

static int64_t s_store_revision (const metrics_input_t *in)
{
    int64_t rev = 0;
    for (size_t i = 0; i < in->n_stores; i++)
        if (in->stores[i].up && in->stores[i].hb->revision > rev) rev = in->stores[i].hb->revision;
    return rev;
}

/* homeostat_component_*: every instance, the stores included where it applies. */
static void s_components (s_ctx_t *c, const metrics_member_t *const *m, size_t n,
                          const metrics_input_t *in)
{
    hs_buf_t *o = c->out;
    int64_t store_rev = s_store_revision (in);
    static const struct {
        const char *name, *type, *help;
    } fams[] = {
        {"homeostat_component_up", "gauge",
         "1 while the instance's heartbeats arrive within 3 intervals, 0 after."},
        {"homeostat_component_restarts_total", "counter",
         "Restarts of the instance seen (its start time changed)."},
        {"homeostat_component_start_time_seconds", "gauge",
         "When the instance started, seconds since the epoch."},
        {"homeostat_component_garbage_total", "counter",
         "Bus messages the instance refused as garbage."},
        {"homeostat_component_observed_revision", "gauge",
         "The store revision the instance's cache reflects."},
        {"homeostat_component_revision_lag", "gauge",
         "How many revisions the instance's cache is behind the store."},
        {"homeostat_component_owned_objects", "gauge", "Objects the instance owns."},
        {"homeostat_component_known_objects", "gauge", "Objects of its kind the instance knows."},
    };
    for (size_t f = 0; f < HS_ARRAY_LEN (fams); f++) {
        if (!s_family (c, fams[f].name, fams[f].type, fams[f].help)) continue;
        if (f <= 3)
            for (size_t i = 0; i < in->n_stores; i++) {
                const metrics_store_t *s = &in->stores[i];
                s_open (o, fams[f].name);
                s_lbl (o, "component", "store");
                s_lbl (o, "member", hs_s (s->member));
                if (f == 0)
                    s_end_u64 (o, s->up);
                else if (f == 1)
                    s_end_u64 (o, s->restarts);
                else if (f == 2)
                    s_end_ns (o, s->hb->started_at_ns);
                else
                    s_end_u64 (o, s->hb->garbage);
            }
        for (size_t i = 0; i < n; i++) {
            const Hs__ComponentHeartbeat *hb = m[i]->hb;
            if (f == 5 && (hb->observed_revision <= 0 || store_rev <= 0)) continue;
            if (f >= 6 && !hb->owned && !hb->total) continue;
            s_open (o, fams[f].name);
            s_lbl (o, "component", m[i]->component);
            s_lbl (o, "member", m[i]->member);
            switch (f) {
            case 0: s_end_u64 (o, m[i]->up); break;
            case 1: s_end_u64 (o, m[i]->restarts); break;
            case 2: s_end_ns (o, hb->started_at_ns); break;
            case 3: s_end_u64 (o, hb->garbage); break;
            case 4: s_end_i64 (o, hb->observed_revision); break;
            case 5:
                s_end_i64 (o, store_rev > hb->observed_revision ? store_rev - hb->observed_revision
                                                                : 0);
                break;
            case 6: s_end_u64 (o, hb->owned); break;
            default: s_end_u64 (o, hb->total); break;
            }
        }
    }
}

static void s_stores (s_ctx_t *c, const metrics_input_t *in)
{
    hs_buf_t *o = c->out;
    static const struct {
        const char *name, *type, *help;
    } fams[] = {
        {"homeostat_store_up", "gauge", "1 while the store replica's heartbeats arrive, 0 after."},
        {"homeostat_store_epoch", "gauge", "The store's epoch."},
        {"homeostat_store_revision", "gauge", "The store's revision."},
        {"homeostat_store_commands_total", "counter", "Commands the store received."},
        {"homeostat_store_commits_total", "counter", "Transactions the store committed."},
        {"homeostat_store_objects", "gauge", "Objects in the store."},
        {"homeostat_store_garbage_total", "counter", "Bus messages the store refused as garbage."},
        {"homeostat_store_forbidden_total", "counter",
         "Writes the store refused Forbidden (the identity's role)."},
        {"homeostat_store_streams", "gauge", "Event streams the store announces."},
    };
    for (size_t f = 0; f < HS_ARRAY_LEN (fams); f++) {
        if (!s_family (c, fams[f].name, fams[f].type, fams[f].help)) continue;
        for (size_t i = 0; i < in->n_stores; i++) {
            const metrics_store_t *s = &in->stores[i];
            const Hs__StoreHeartbeat *hb = s->hb;
            s_open (o, fams[f].name);
            s_lbl (o, "member", hs_s (s->member));
            uint64_t v[] = {s->up,        hb->epoch,     (uint64_t)hb->revision,
                            hb->commands, hb->commits,   hb->objects,
                            hb->garbage,  hb->forbidden, hb->n_streams};
            s_end_u64 (o, v[f]);
        }
    }
}

static int s_raft_cmp (const void *a, const void *b)
{
    const metrics_raft_t *const *x = a, *const *y = b;
    return strcmp (hs_s ((*x)->member), hs_s ((*y)->member));
}

/* A replicated store's members (hb.raft.<member>). The role family has one
 * series per role, 1 for the member's current one (kube_pod_status_phase's
 * shape); a member not heard lately is "unavailable". */
static void s_rafts (s_ctx_t *c, const metrics_input_t *in)
{
    if (!in->n_rafts) return;
    hs_buf_t *o = c->out;
    const metrics_raft_t **r = hs_malloc (in->n_rafts * sizeof *r);
    for (size_t i = 0; i < in->n_rafts; i++) r[i] = &in->rafts[i];
    qsort (r, in->n_rafts, sizeof *r, s_raft_cmp);
    size_t n = 0; /* one series per member */
    for (size_t i = 0; i < in->n_rafts; i++)
        if (!n || s_raft_cmp (&r[n - 1], &r[i]) != 0) r[n++] = r[i];
    static const char *roles[] = {"leader", "follower", "candidate", "unavailable"};
    if (s_family (c, "homeostat_store_member_role", "gauge",
                  "1 for the raft role the store member reports (unavailable: not heard "
                  "lately), 0 for the others."))
        for (size_t i = 0; i < n; i++) {
            const char *role =
                r[i]->up && !hs_empty (r[i]->hb->role) ? r[i]->hb->role : "unavailable";
            bool known = false;
            for (size_t k = 0; k < HS_ARRAY_LEN (roles); k++) {
                known |= !strcmp (role, roles[k]);
                s_open (o, "homeostat_store_member_role");
                s_lbl (o, "member", r[i]->member);
                s_lbl (o, "role", roles[k]);
                s_end_u64 (o, !strcmp (role, roles[k]));
            }
            if (!known) {
                s_open (o, "homeostat_store_member_role");
                s_lbl (o, "member", r[i]->member);
                s_lbl (o, "role", role);
                s_end_u64 (o, 1);
            }
        }
    static const struct {
        const char *name, *type, *help;
    } fams[] = {
        {"homeostat_store_member_up", "gauge",
         "1 while the store member's heartbeats (hb.raft.<member>) arrive, 0 after."},
        {"homeostat_store_member_term", "gauge", "The raft term the store member is in."},
        {"homeostat_store_member_commit_index", "gauge",
         "The raft commit index the store member knows."},
        {"homeostat_store_member_applied_index", "gauge",
         "The last raft index the store member applied to its LMDB."},
        {"homeostat_store_member_snapshot_index", "gauge",
         "The index of the store member's last raft snapshot."},
        {"homeostat_store_member_snapshots_installed_total", "counter",
         "Raft snapshots the store member received from a leader and restored."},
    };
    for (size_t f = 0; f < HS_ARRAY_LEN (fams); f++) {
        if (!s_family (c, fams[f].name, fams[f].type, fams[f].help)) continue;
        for (size_t i = 0; i < n; i++) {
            const Hs__StoreHeartbeat *hb = r[i]->hb;
            s_open (o, fams[f].name);
            s_lbl (o, "member", r[i]->member);
            uint64_t v[] = {r[i]->up,          hb->term,           hb->commit_index,
                            hb->applied_index, hb->snapshot_index, hb->snapshots_installed};
            s_end_u64 (o, v[f]);
        }
    }
    free (r);
}

static void s_system (s_ctx_t *c, const metrics_input_t *in)
{
    const metrics_member_t **m = hs_malloc ((in->n_members + 1) * sizeof *m);
    for (size_t i = 0; i < in->n_members; i++) m[i] = &in->members[i];
    qsort (m, in->n_members, sizeof *m, s_member_cmp);
    size_t n = 0; /* without repeats of one instance */
    for (size_t i = 0; i < in->n_members; i++)
        if (!n || s_member_cmp (&m[n - 1], &m[i]) != 0) m[n++] = m[i];
    s_components (c, m, n, in);
    s_stores (c, in);
    s_rafts (c, in);
    /* every heartbeat's own counters, gauges and histograms, component by component */
    s_src_t *src = hs_malloc ((n + in->n_stores + 1) * sizeof *src);
    size_t ns = 0;
    for (size_t i = 0; i < in->n_stores; i++) {
        const Hs__StoreHeartbeat *hb = in->stores[i].hb;
        src[ns++] = (s_src_t){"store",        hs_s (in->stores[i].member),
                              hb->counters,   hb->n_counters,
                              hb->gauges,     hb->n_gauges,
                              hb->histograms, hb->n_histograms};
    }
    for (size_t i = 0; i < n; i++) {
        const Hs__ComponentHeartbeat *hb = m[i]->hb;
        src[ns++] = (s_src_t){m[i]->component, m[i]->member, hb->counters,   hb->n_counters,
                              hb->gauges,      hb->n_gauges, hb->histograms, hb->n_histograms};
    }
    qsort (src, ns, sizeof *src, s_src_cmp);
    for (size_t i = 0; i < ns;) {
        size_t j = i + 1;
        while (j < ns && strcmp (src[j].component, src[i].component) == 0) j++;
        s_generic (c, src + i, j - i);
        i = j;
    }
    free (src);
    free (m);
}

/* ------------------------------------------------------------------ nodes */

static void s_resource_series (hs_buf_t *o, const char *fam, const char *node,
                               const Hs__ResourceList *rl)
{
    if (!rl) return;
    int64_t v;
    if (!hs_empty (rl->cpu) && hs_quantity_cpu_milli (rl->cpu, &v) == 0) {
        s_open (o, fam);
        s_lbl (o, "node", node);
        s_lbl (o, "resource", "cpu");
        s_lbl (o, "unit", "core");
        s_close (o);
        s_fixed (o, v, 3, 1000);
        s_putc (o, '\n');
    }
    if (!hs_empty (rl->memory) && hs_quantity_bytes (rl->memory, &v) == 0) {
        s_open (o, fam);
        s_lbl (o, "node", node);
        s_lbl (o, "resource", "memory");
        s_lbl (o, "unit", "byte");
        s_end_i64 (o, v);
    }
    if (!hs_empty (rl->pods) && hs_quantity_count (rl->pods, &v) == 0) {
        s_open (o, fam);
        s_lbl (o, "node", node);
        s_lbl (o, "resource", "pods");
        s_lbl (o, "unit", "integer");
        s_end_i64 (o, v);
    }
}

static const char *s_status_word (const char *status, int i)
{
    static const char *const words[] = {"true", "false", "unknown"};
    (void)status;
    return words[i];
}

static bool s_status_is (const char *status, int i)
{
    if (i == 0) return hs_streq (status, "True");
    if (i == 1) return hs_streq (status, "False");
    return !hs_streq (status, "True") && !hs_streq (status, "False");
}

static const char *s_node_ip (const Hs__NodeStatus *st)
{
    for (size_t i = 0; st && i < st->n_addresses; i++)
        if (hs_streq (st->addresses[i]->type, "InternalIP")) return st->addresses[i]->address;
    return "";
}

static void s_nodes (s_ctx_t *c, const metrics_input_t *in)
{
    hs_buf_t *o = c->out;
    if (s_family (c, "kube_node_info", "gauge", "Information about a cluster node."))
        for (size_t i = 0; i < in->n_nodes; i++) {
            const Hs__Node *n = in->nodes[i]->node;
            if (!n || !n->metadata) continue;
            const Hs__NodeSystemInfo *ni = n->status ? n->status->node_info : NULL;
            s_open (o, "kube_node_info");
            s_lbl (o, "node", n->metadata->name);
            s_lbl (o, "kernel_version", ni ? ni->kernel_version : "");
            s_lbl (o, "os_image", ni ? ni->os_image : "");
            s_lbl (o, "kubelet_version", ni ? ni->agent_version : "");
            s_lbl (o, "system_uuid", ni ? ni->machine_id : "");
            s_lbl (o, "pod_cidr", n->spec ? n->spec->pod_cidr : "");
            s_lbl (o, "internal_ip", s_node_ip (n->status));
            s_end_u64 (o, 1);
        }
    if (s_family (c, "kube_node_status_condition", "gauge", "The condition of a cluster node."))
        for (size_t i = 0; i < in->n_nodes; i++) {
            const Hs__Node *n = in->nodes[i]->node;
            if (!n || !n->metadata || !n->status) continue;
            for (size_t j = 0; j < n->status->n_conditions; j++) {
                const Hs__NodeCondition *cd = n->status->conditions[j];
                for (int k = 0; k < 3; k++) {
                    s_open (o, "kube_node_status_condition");
                    s_lbl (o, "node", n->metadata->name);
                    s_lbl (o, "condition", cd->type);
                    s_lbl (o, "status", s_status_word (cd->status, k));
                    s_end_u64 (o, s_status_is (cd->status, k));
                }
            }
        }
    if (s_family (c, "kube_node_status_capacity", "gauge",
                  "The capacity for different resources of a node."))
        for (size_t i = 0; i < in->n_nodes; i++) {
            const Hs__Node *n = in->nodes[i]->node;
            if (n && n->metadata && n->status)
                s_resource_series (o, "kube_node_status_capacity", n->metadata->name,
                                   n->status->capacity);
        }
    if (s_family (c, "kube_node_status_allocatable", "gauge",
                  "The allocatable for different resources of a node that are available for "
                  "scheduling."))
        for (size_t i = 0; i < in->n_nodes; i++) {
            const Hs__Node *n = in->nodes[i]->node;
            if (n && n->metadata && n->status)
                s_resource_series (o, "kube_node_status_allocatable", n->metadata->name,
                                   n->status->allocatable ? n->status->allocatable
                                                          : n->status->capacity);
        }
    if (s_family (c, "kube_node_spec_unschedulable", "gauge",
                  "Whether a node can schedule new pods."))
        for (size_t i = 0; i < in->n_nodes; i++) {
            const Hs__Node *n = in->nodes[i]->node;
            if (!n || !n->metadata) continue;
            s_open (o, "kube_node_spec_unschedulable");
            s_lbl (o, "node", n->metadata->name);
            s_end_u64 (o, n->spec && n->spec->unschedulable);
        }
}

/* ------------------------------------------------------------------ usage */

typedef struct {
    const char *ns, *pod, *node, *uid;
    const Hs__PodUsage *p;
    const Hs__ContainerUsage *u;
    int64_t ts;          /* the NodeUsage's timestamp */
    int64_t started;     /* the pod's latest run start: its newest container's started_at */
    bool store;          /* the pod's uid is the one the store has for ns/name */
    size_t lbl, lbl_len; /* container="",namespace="",pod="" in the scratch buffer */
} s_cu_t;

/* By pod, then the pod sample that wins before the others (the store's
 * uid, the newest sample, the later run, then uid, node and the sample's
 * place, so the order is total), then container. */
static int s_cu_cmp (const void *a, const void *b)
{
    const s_cu_t *x = a, *y = b;
    int r = strcmp (x->ns, y->ns);
    if (!r) r = strcmp (x->pod, y->pod);
    if (!r) r = (int)y->store - (int)x->store;
    if (!r) r = (x->ts < y->ts) - (x->ts > y->ts); /* the newest first */
    if (!r) r = (x->started < y->started) - (x->started > y->started);
    if (!r) r = strcmp (x->uid, y->uid);
    if (!r) r = strcmp (x->node, y->node);
    if (!r) r = (x->p > y->p) - (x->p < y->p);
    if (!r) r = strcmp (x->u->name, y->u->name);
    return r;
}

typedef struct {
    const char *ns, *name, *uid;
} s_uid_t;

static int s_uid_cmp (const void *a, const void *b)
{
    const s_uid_t *x = a, *y = b;
    int r = strcmp (x->ns, y->ns);
    return r ? r : strcmp (x->name, y->name);
}

/* The store's pods' uids, sorted by namespace and name (*ret_n of them). */
static s_uid_t *s_store_uids (const metrics_input_t *in, size_t *ret_n)
{
    s_uid_t *v = hs_malloc ((in->n_pods + 1) * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < in->n_pods; i++) {
        const Hs__Pod *p = in->pods[i]->pod;
        if (p && p->metadata)
            v[n++] = (s_uid_t){hs_s (p->metadata->namespace_), hs_s (p->metadata->name),
                               hs_s (p->metadata->uid)};
    }
    qsort (v, n, sizeof *v, s_uid_cmp);
    *ret_n = n;
    return v;
}

static int s_usage_cmp (const void *a, const void *b)
{
    const Hs__NodeUsage *x = *(const Hs__NodeUsage *const *)a,
                        *y = *(const Hs__NodeUsage *const *)b;
    return strcmp (hs_s (x->node), hs_s (y->node));
}

static void s_node_usage (s_ctx_t *c, const metrics_input_t *in)
{
    hs_buf_t *o = c->out;
    const Hs__NodeUsage **u = hs_malloc ((in->n_usage + 1) * sizeof *u);
    if (in->n_usage) memcpy (u, in->usage, in->n_usage * sizeof *u);
    qsort (u, in->n_usage, sizeof *u, s_usage_cmp);
    size_t n = 0;
    for (size_t i = 0; i < in->n_usage; i++)
        if (!n || strcmp (hs_s (u[n - 1]->node), hs_s (u[i]->node)) != 0) u[n++] = u[i];
    if (s_family (c, "node_cpu_usage_seconds_total", "counter",
                  "Cumulative cpu time consumed by the node in core-seconds."))
        for (size_t i = 0; i < n; i++) {
            s_open (o, "node_cpu_usage_seconds_total");
            s_lbl (o, "node", u[i]->node);
            s_end_uns (o, u[i]->cpu_usage_core_ns);
        }
    if (s_family (c, "node_memory_working_set_bytes", "gauge",
                  "Current working set of the node in bytes."))
        for (size_t i = 0; i < n; i++) {
            s_open (o, "node_memory_working_set_bytes");
            s_lbl (o, "node", u[i]->node);
            s_end_i64 (o, u[i]->memory_working_set_bytes);
        }
    free (u);
}

static void s_container_usage (s_ctx_t *c, const metrics_input_t *in)
{
    hs_buf_t *o = c->out;
    size_t cap = 0;
    for (size_t i = 0; i < in->n_usage; i++)
        for (size_t j = 0; j < in->usage[i]->n_pods; j++)
            cap += in->usage[i]->pods[j]->n_containers;
    s_cu_t *cu = hs_malloc ((cap + 1) * sizeof *cu);
    size_t n = 0;
    for (size_t i = 0; i < in->n_usage; i++)
        for (size_t j = 0; j < in->usage[i]->n_pods; j++) {
            const Hs__PodUsage *p = in->usage[i]->pods[j];
            int64_t started = INT64_MIN;
            for (size_t k = 0; k < p->n_containers; k++)
                if (p->containers[k]->started_at > started) started = p->containers[k]->started_at;
            for (size_t k = 0; k < p->n_containers; k++)
                cu[n++] = (s_cu_t){.ns = hs_s (p->namespace_),
                                   .pod = hs_s (p->name),
                                   .node = hs_s (in->usage[i]->node),
                                   .uid = hs_s (p->uid),
                                   .p = p,
                                   .u = p->containers[k],
                                   .ts = in->usage[i]->timestamp,
                                   .started = started};
        }
    qsort (cu, n, sizeof *cu, s_cu_cmp);
    /* A pod more than one sample names (rare): whether each has the
     * store's uid decides first, so look it up and sort that pod again. The
     * store's uids are indexed only when there is such a pod. */
    s_uid_t *uids = NULL;
    size_t n_uids = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        bool several = false;
        for (; j < n && !strcmp (cu[j].ns, cu[i].ns) && !strcmp (cu[j].pod, cu[i].pod); j++)
            several |= cu[j].p != cu[i].p;
        if (several) {
            if (!uids) uids = s_store_uids (in, &n_uids);
            s_uid_t key = {cu[i].ns, cu[i].pod, NULL};
            const s_uid_t *sp = bsearch (&key, uids, n_uids, sizeof *uids, s_uid_cmp);
            for (size_t k = i; k < j; k++)
                cu[k].store = sp && !hs_empty (cu[k].uid) && !strcmp (sp->uid, cu[k].uid);
            qsort (cu + i, j - i, sizeof *cu, s_cu_cmp);
        }
        i = j;
    }
    free (uids);
    /* One sample per pod: a pod two nodes report (a move), or two runs of
     * one name on a node (a pod deleted and made again while the old one
     * ends its grace period), would mix unrelated counters. The first of
     * each pod in the order above wins, and its containers are written once. */
    size_t m = 0;
    const Hs__PodUsage *won = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!m || strcmp (cu[m - 1].ns, cu[i].ns) || strcmp (cu[m - 1].pod, cu[i].pod))
            won = cu[i].p;
        else if (cu[i].p != won || !strcmp (cu[m - 1].u->name, cu[i].u->name))
            continue;
        cu[m++] = cu[i];
    }
    hs_buf_t lb = {0};
    for (size_t i = 0; i < m; i++) {
        cu[i].lbl = lb.len;
        s_lbl (&lb, "container", cu[i].u->name);
        s_lbl (&lb, "namespace", cu[i].ns);
        s_lbl (&lb, "pod", cu[i].pod);
        cu[i].lbl_len = lb.len - cu[i].lbl - 1; /* without the last comma */
    }
    static const struct {
        const char *name, *type, *help;
    } fams[] = {
        {"container_cpu_usage_seconds_total", "counter",
         "Cumulative cpu time consumed by the container in core-seconds."},
        {"container_memory_working_set_bytes", "gauge",
         "Current working set of the container in bytes."},
        {"container_memory_usage_bytes", "gauge",
         "Current memory usage of the container in bytes, including all memory regardless of "
         "when it was accessed."},
        {"container_oom_events_total", "counter",
         "Count of out of memory events observed for the container."},
        {"container_start_time_seconds", "gauge",
         "Start time of the container since unix epoch in seconds."},
    };
    for (size_t f = 0; f < HS_ARRAY_LEN (fams); f++) {
        if (!s_family (c, fams[f].name, fams[f].type, fams[f].help)) continue;
        for (size_t i = 0; i < m; i++) {
            const Hs__ContainerUsage *u = cu[i].u;
            if (f == 4 && u->started_at <= 0) continue;
            s_open (o, fams[f].name);
            s_app (o, lb.data + cu[i].lbl, cu[i].lbl_len);
            switch (f) {
            case 0: s_end_uns (o, u->cpu_usage_core_ns); break;
            case 1: s_end_i64 (o, u->memory_working_set_bytes); break;
            case 2: s_end_i64 (o, u->memory_usage_bytes); break;
            case 3: s_end_u64 (o, u->oom_kills); break;
            default: s_end_ns (o, u->started_at); break;
            }
        }
    }
    /* Per pod: the sum of its containers' working sets (m is sorted by pod).
     * No pod CPU counter: a container's cpu_usage_core_ns starts again with
     * each run, so a sum of them goes down when one restarts, which rate()
     * reads as a reset; a pod's CPU is sum by (namespace, pod) of the
     * containers' rates. */
    if (s_family (c, "pod_memory_working_set_bytes", "gauge",
                  "Current working set of the pod in bytes."))
        for (size_t i = 0; i < m;) {
            int64_t mem = 0;
            size_t j = i;
            for (; j < m && !strcmp (cu[j].ns, cu[i].ns) && !strcmp (cu[j].pod, cu[i].pod); j++) {
                /* from the bus: saturate, and a negative counts as 0 (hs_usage_pod_totals) */
                int64_t ws = cu[j].u->memory_working_set_bytes;
                mem = hs_sat_add (mem, ws > 0 ? ws : 0);
            }
            s_open (o, "pod_memory_working_set_bytes");
            s_lbl (o, "namespace", cu[i].ns);
            s_lbl (o, "pod", cu[i].pod);
            s_end_i64 (o, mem);
            i = j;
        }
    hs_buf_free (&lb);
    free (cu);
}

/* ------------------------------------------------------------------ pods */

typedef struct {
    const char *name; /* label_<key>, sanitized, maybe _conflictN */
    const char *key, *value;
    char *owned;
} s_plabel_t;

static int s_plabel_cmp (const void *a, const void *b)
{
    const s_plabel_t *x = a, *y = b;
    int r = strcmp (x->name, y->name);
    return r ? r : strcmp (x->key, y->key);
}

/* kube_pod_labels' label set: label_<sanitized key>; keys that collide get
 * _conflict1, _conflict2, ... in the order of their raw keys, and a name
 * that still repeats is written once. */
static void s_pod_labels (hs_buf_t *o, const Hs__ObjectMeta *meta)
{
    size_t n = meta->n_labels;
    if (!n) return;
    s_plabel_t *l = hs_calloc (n, sizeof *l);
    for (size_t i = 0; i < n; i++) {
        hs_buf_t b = {0};
        s_puts (&b, "label_");
        s_name (&b, meta->labels[i]->key);
        l[i].owned = s_take (&b);
        l[i].name = l[i].owned;
        l[i].key = hs_s (meta->labels[i]->key);
        l[i].value = meta->labels[i]->value;
    }
    /* by name, then by raw key, so the suffixes do not depend on map order */
    qsort (l, n, sizeof *l, s_plabel_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && strcmp (l[j].name, l[i].name) == 0) j++;
        if (j - i > 1)
            for (size_t k = i; k < j; k++) {
                char *s = hs_sprintf ("%s_conflict%zu", l[k].name, k - i + 1);
                free (l[k].owned);
                l[k].owned = s;
                l[k].name = s;
            }
        i = j;
    }
    qsort (l, n, sizeof *l, s_plabel_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i && strcmp (l[i].name, l[i - 1].name) == 0) continue;
        s_lbl (o, l[i].name, l[i].value);
    }
    for (size_t i = 0; i < n; i++) free (l[i].owned);
    free (l);
}

static const char *s_pod_ready (const Hs__Pod *p)
{
    for (size_t i = 0; p->status && i < p->status->n_conditions; i++)
        if (hs_streq (p->status->conditions[i]->type, "Ready"))
            return p->status->conditions[i]->status;
    return NULL;
}

static void s_pods (s_ctx_t *c, const metrics_input_t *in)
{
    hs_buf_t *o = c->out;
    /* namespace="",pod="",uid="" once per pod */
    hs_buf_t lb = {0};
    size_t *at = hs_malloc ((in->n_pods + 1) * sizeof *at);
    for (size_t i = 0; i < in->n_pods; i++) {
        const Hs__Pod *p = in->pods[i]->pod;
        at[i] = lb.len;
        if (!p || !p->metadata) continue;
        s_lbl (&lb, "namespace", p->metadata->namespace_);
        s_lbl (&lb, "pod", p->metadata->name);
        s_lbl (&lb, "uid", p->metadata->uid);
        lb.len--; /* the last comma */
    }
    at[in->n_pods] = lb.len;
#define POD_EACH(i, p)                                                                             \
    for (size_t i = 0; i < in->n_pods; i++)                                                        \
        for (const Hs__Pod *p = in->pods[i]->pod; p && p->metadata; p = NULL)
#define POD_SERIES(name, i) s_pre (o, name, lb.data + at[i], at[i + 1] - at[i])

    if (s_family (c, "kube_pod_info", "gauge", "Information about pod.")) POD_EACH (i, p)
        {
            const Hs__OwnerReference *ref = hs_controller_ref (p->metadata);
            POD_SERIES ("kube_pod_info", i);
            s_lbl (o, "host_ip", p->status ? p->status->host_ip : "");
            s_lbl (o, "pod_ip", p->status ? p->status->pod_ip : "");
            s_lbl (o, "node", p->spec ? p->spec->node_name : "");
            s_lbl (o, "created_by_kind", ref ? ref->kind : "");
            s_lbl (o, "created_by_name", ref ? ref->name : "");
            s_lbl (o, "priority_class", "");
            s_lbl (o, "host_network", p->spec && p->spec->host_network ? "true" : "false");
            s_end_u64 (o, 1);
        }
    if (s_family (c, "kube_pod_labels", "gauge",
                  "Kubernetes labels converted to Prometheus labels."))
        POD_EACH (i, p)
        {
            POD_SERIES ("kube_pod_labels", i);
            s_pod_labels (o, p->metadata);
            s_end_u64 (o, 1);
        }
    static const char *const phases[] = {"Pending", "Succeeded", "Failed", "Unknown", "Running"};
    if (s_family (c, "kube_pod_status_phase", "gauge", "The pods current phase.")) POD_EACH (i, p)
        {
            const char *phase =
                p->status && !hs_empty (p->status->phase) ? p->status->phase : "Pending";
            for (size_t k = 0; k < HS_ARRAY_LEN (phases); k++) {
                POD_SERIES ("kube_pod_status_phase", i);
                s_lbl (o, "phase", phases[k]);
                s_end_u64 (o, strcmp (phase, phases[k]) == 0);
            }
        }
    if (s_family (c, "kube_pod_status_ready", "gauge",
                  "Describes whether the pod is ready to serve requests."))
        POD_EACH (i, p)
        {
            const char *ready = s_pod_ready (p);
            if (!ready) continue;
            for (int k = 0; k < 3; k++) {
                POD_SERIES ("kube_pod_status_ready", i);
                s_lbl (o, "condition", s_status_word (ready, k));
                s_end_u64 (o, s_status_is (ready, k));
            }
        }
    if (s_family (c, "kube_pod_container_status_restarts_total", "counter",
                  "The number of container restarts per container."))
        POD_EACH (i, p)
        {
            for (size_t k = 0; p->status && k < p->status->n_container_statuses; k++) {
                const Hs__ContainerStatus *cs = p->status->container_statuses[k];
                POD_SERIES ("kube_pod_container_status_restarts_total", i);
                s_lbl (o, "container", cs->name);
                s_end_i64 (o, cs->restart_count);
            }
        }
    for (int f = 0; f < 2; f++) {
        const char *fam =
            f ? "kube_pod_container_resource_limits" : "kube_pod_container_resource_requests";
        if (!s_family (c, fam, "gauge",
                       f ? "The number of limit resource requested by a container."
                         : "The number of requested request resource by a container."))
            continue;
        POD_EACH (i, p)
        {
            for (size_t k = 0; p->spec && k < p->spec->n_containers; k++) {
                const Hs__Container *ct = p->spec->containers[k];
                const Hs__ResourceList *rl =
                    ct->resources ? (f ? ct->resources->limits : ct->resources->requests) : NULL;
                int64_t v;
                if (!rl) continue;
                if (!hs_empty (rl->cpu) && hs_quantity_cpu_milli (rl->cpu, &v) == 0) {
                    POD_SERIES (fam, i);
                    s_lbl (o, "container", ct->name);
                    s_lbl (o, "node", p->spec->node_name);
                    s_lbl (o, "resource", "cpu");
                    s_lbl (o, "unit", "core");
                    s_close (o);
                    s_fixed (o, v, 3, 1000);
                    s_putc (o, '\n');
                }
                if (!hs_empty (rl->memory) && hs_quantity_bytes (rl->memory, &v) == 0) {
                    POD_SERIES (fam, i);
                    s_lbl (o, "container", ct->name);
                    s_lbl (o, "node", p->spec->node_name);
                    s_lbl (o, "resource", "memory");
                    s_lbl (o, "unit", "byte");
                    s_end_i64 (o, v);
                }
            }
        }
    }
#undef POD_EACH
#undef POD_SERIES
    free (at);
    hs_buf_free (&lb);
}

/* ------------------------------------------------------------------ workloads */

typedef struct {
    const char *name, *help;
} s_fam_t;

static int32_t s_i32v (const Hs__Int32Value *v, int32_t dflt)
{
    return v ? v->value : dflt;
}

static int64_t s_deploy (const Hs__Deployment *d, size_t f)
{
    const Hs__DeploymentStatus *st = d->status;
    switch (f) {
    case 0: return d->spec ? s_i32v (d->spec->replicas, 1) : 1;
    case 1: return st ? st->replicas : 0;
    case 2: return st ? st->available_replicas : 0;
    case 3: return st ? st->ready_replicas : 0;
    case 4: return st ? st->updated_replicas : 0;
    case 5: return st ? st->unavailable_replicas : 0;
    case 6: return st ? st->observed_generation : 0;
    case 7: return d->metadata->generation;
    default: return d->spec && d->spec->paused;
    }
}

static int64_t s_rs (const Hs__ReplicaSet *r, size_t f)
{
    const Hs__ReplicaSetStatus *st = r->status;
    switch (f) {
    case 0: return r->spec ? s_i32v (r->spec->replicas, 1) : 1;
    case 1: return st ? st->replicas : 0;
    case 2: return st ? st->ready_replicas : 0;
    case 3: return st ? st->fully_labeled_replicas : 0;
    case 4: return st ? st->observed_generation : 0;
    default: return r->metadata->generation;
    }
}

static int64_t s_job (const Hs__Job *j, size_t f)
{
    const Hs__JobStatus *st = j->status;
    switch (f) {
    case 0: return st ? st->active : 0;
    case 1: return st ? st->succeeded : 0;
    case 2: return st ? st->failed : 0;
    case 3: return j->spec ? s_i32v (j->spec->parallelism, 1) : 1;
    default: return j->spec ? s_i32v (j->spec->completions, 1) : 1;
    }
}

static int64_t s_hpa (const Hs__HorizontalPodAutoscaler *h, size_t f)
{
    const Hs__HorizontalPodAutoscalerStatus *st = h->status;
    switch (f) {
    case 0: return h->spec ? s_i32v (h->spec->min_replicas, 1) : 1;
    case 1: return h->spec ? h->spec->max_replicas : 0;
    case 2: return st ? st->current_replicas : 0;
    case 3: return st ? st->desired_replicas : 0;
    default: return h->metadata->generation;
    }
}

/* One object's int field f, by kind. */
static int64_t s_field (const Hs__Object *o, hs_kind_t kind, size_t f)
{
    switch (kind) {
    case HS_KIND_DEPLOYMENT: return s_deploy (o->deployment, f);
    case HS_KIND_REPLICASET: return s_rs (o->replica_set, f);
    case HS_KIND_JOB: return s_job (o->job, f);
    default: return s_hpa (o->horizontal_pod_autoscaler, f);
    }
}

static void s_objects (s_ctx_t *c, hs_kind_t kind, const char *label, const Hs__Object *const *objs,
                       size_t n, const s_fam_t *fams, size_t n_fams)
{
    for (size_t f = 0; f < n_fams; f++) {
        if (!s_family (c, fams[f].name, "gauge", fams[f].help)) continue;
        for (size_t i = 0; i < n; i++) {
            const Hs__ObjectMeta *m = hs_obj_meta (objs[i]);
            if (!m || hs_obj_kind (objs[i]) != kind) continue;
            s_open (c->out, fams[f].name);
            s_lbl (c->out, "namespace", m->namespace_);
            s_lbl (c->out, label, m->name);
            s_end_i64 (c->out, s_field (objs[i], kind, f));
        }
    }
}

/* An HPA's target or current value: a percent, or a quantity in base units. */
static bool s_hpa_value (const char *resource, const char *q, const Hs__Int32Value *util,
                         double *ret, const char **ret_type)
{
    int64_t v;
    if (util) {
        *ret = util->value;
        *ret_type = "utilization";
        return true;
    }
    if (hs_empty (q)) return false;
    if (hs_streq (resource, "cpu")) {
        if (hs_quantity_cpu_milli (q, &v) < 0) return false;
        *ret = (double)v / 1000.0;
    } else {
        if (hs_quantity_bytes (q, &v) < 0) return false;
        *ret = (double)v;
    }
    return true;
}

/* What tells an HPA's target_metric series apart: its labels. */
typedef struct {
    const char *name, *type, *container;
} s_hpa_key_t;

static bool s_hpa_key_seen (const s_hpa_key_t *keys, size_t n, const s_hpa_key_t *k)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp (keys[i].name, k->name) && !strcmp (keys[i].type, k->type) &&
            !strcmp (keys[i].container, k->container))
            return true;
    return false;
}

static void s_hpas (s_ctx_t *c, const metrics_input_t *in)
{
    hs_buf_t *o = c->out;
    static const s_fam_t fams[] = {
        {"kube_horizontalpodautoscaler_spec_min_replicas",
         "Lower limit for the number of pods that can be set by the autoscaler, default 1."},
        {"kube_horizontalpodautoscaler_spec_max_replicas",
         "Upper limit for the number of pods that can be set by the autoscaler; cannot be "
         "smaller than MinReplicas."},
        {"kube_horizontalpodautoscaler_status_current_replicas",
         "Current number of replicas of pods managed by this autoscaler."},
        {"kube_horizontalpodautoscaler_status_desired_replicas",
         "Desired number of replicas of pods managed by this autoscaler."},
        {"kube_horizontalpodautoscaler_metadata_generation",
         "The generation observed by the HorizontalPodAutoscaler controller."},
    };
    s_objects (c, HS_KIND_HPA, "horizontalpodautoscaler", in->hpas, in->n_hpas, fams,
               HS_ARRAY_LEN (fams));
    for (int f = 0; f < 2; f++) {
        const char *fam = f ? "kube_horizontalpodautoscaler_status_target_metric"
                            : "kube_horizontalpodautoscaler_spec_target_metric";
        if (!s_family (c, fam, "gauge",
                       f ? "The current metric status used by this autoscaler when calculating "
                           "the desired replica count."
                         : "The metric specifications used by this autoscaler when calculating "
                           "the desired replica count."))
            continue;
        for (size_t i = 0; i < in->n_hpas; i++) {
            const Hs__HorizontalPodAutoscaler *h = in->hpas[i]->horizontal_pod_autoscaler;
            if (!h || !h->metadata) continue;
            size_t n = f ? (h->status ? h->status->n_current_metrics : 0)
                         : (h->spec ? h->spec->n_metrics : 0);
            s_hpa_key_t *done = hs_malloc ((n + 1) * sizeof *done);
            size_t n_done = 0;
            for (size_t k = 0; k < n; k++) {
                const char *res = NULL, *q = NULL, *type = "average", *ctr = "";
                const Hs__Int32Value *util = NULL;
                double v;
                if (f) {
                    const Hs__MetricStatus *ms = h->status->current_metrics[k];
                    const Hs__MetricValueStatus *cur = NULL;
                    if (ms->resource)
                        res = ms->resource->name, cur = ms->resource->current;
                    else if (ms->container_resource)
                        res = ms->container_resource->name, cur = ms->container_resource->current,
                        ctr = hs_s (ms->container_resource->container);
                    if (!cur) continue;
                    util = cur->average_utilization;
                    q = !hs_empty (cur->average_value) ? cur->average_value : cur->value;
                    if (hs_empty (cur->average_value) && !hs_empty (cur->value)) type = "value";
                } else {
                    const Hs__MetricSpec *ms = h->spec->metrics[k];
                    const Hs__MetricTarget *t = NULL;
                    if (ms->resource)
                        res = ms->resource->name, t = ms->resource->target;
                    else if (ms->container_resource)
                        res = ms->container_resource->name, t = ms->container_resource->target,
                        ctr = hs_s (ms->container_resource->container);
                    if (!t) continue;
                    util = t->average_utilization;
                    q = !hs_empty (t->average_value) ? t->average_value : t->value;
                    if (hs_empty (t->average_value) && !hs_empty (t->value)) type = "value";
                }
                if (!s_hpa_value (res, q, util, &v, &type)) continue;
                /* validation, as kube's, lets a metric repeat: written once */
                s_hpa_key_t key = {hs_s (res), type, ctr};
                if (s_hpa_key_seen (done, n_done, &key)) continue;
                done[n_done++] = key;
                s_open (o, fam);
                s_lbl (o, "namespace", h->metadata->namespace_);
                s_lbl (o, "horizontalpodautoscaler", h->metadata->name);
                s_lbl (o, "metric_name", res);
                s_lbl (o, "metric_target_type", type);
                s_lbl (o, "container", ctr);
                s_end_double (o, v);
            }
            free (done);
        }
    }
    if (s_family (c, "kube_horizontalpodautoscaler_status_condition", "gauge",
                  "The condition of this autoscaler."))
        for (size_t i = 0; i < in->n_hpas; i++) {
            const Hs__HorizontalPodAutoscaler *h = in->hpas[i]->horizontal_pod_autoscaler;
            if (!h || !h->metadata || !h->status) continue;
            for (size_t k = 0; k < h->status->n_conditions; k++) {
                const Hs__HorizontalPodAutoscalerCondition *cd = h->status->conditions[k];
                for (int s = 0; s < 3; s++) {
                    s_open (o, "kube_horizontalpodautoscaler_status_condition");
                    s_lbl (o, "namespace", h->metadata->namespace_);
                    s_lbl (o, "horizontalpodautoscaler", h->metadata->name);
                    s_lbl (o, "condition", cd->type);
                    s_lbl (o, "status", s_status_word (cd->status, s));
                    s_end_u64 (o, s_status_is (cd->status, s));
                }
            }
        }
}

static void s_workloads (s_ctx_t *c, const metrics_input_t *in)
{
    static const s_fam_t deploy[] = {
        {"kube_deployment_spec_replicas", "Number of desired pods for a deployment."},
        {"kube_deployment_status_replicas", "The number of replicas per deployment."},
        {"kube_deployment_status_replicas_available",
         "The number of available replicas per deployment."},
        {"kube_deployment_status_replicas_ready", "The number of ready replicas per deployment."},
        {"kube_deployment_status_replicas_updated",
         "The number of updated replicas per deployment."},
        {"kube_deployment_status_replicas_unavailable",
         "The number of unavailable replicas per deployment."},
        {"kube_deployment_status_observed_generation",
         "The generation observed by the deployment controller."},
        {"kube_deployment_metadata_generation",
         "Sequence number representing a specific generation of the desired state."},
        {"kube_deployment_spec_paused", "Whether the deployment is paused and will not be "
                                        "processed by the deployment controller."},
    };
    static const s_fam_t rs[] = {
        {"kube_replicaset_spec_replicas", "Number of desired pods for a ReplicaSet."},
        {"kube_replicaset_status_replicas", "The number of replicas per ReplicaSet."},
        {"kube_replicaset_status_ready_replicas", "The number of ready replicas per ReplicaSet."},
        {"kube_replicaset_status_fully_labeled_replicas",
         "The number of fully labeled replicas per ReplicaSet."},
        {"kube_replicaset_status_observed_generation",
         "The generation observed by the ReplicaSet controller."},
        {"kube_replicaset_metadata_generation",
         "Sequence number representing a specific generation of the desired state."},
    };
    static const s_fam_t job[] = {
        {"kube_job_status_active", "The number of actively running pods."},
        {"kube_job_status_succeeded", "The number of pods which reached Phase Succeeded."},
        {"kube_job_status_failed", "The number of pods which reached Phase Failed."},
        {"kube_job_spec_parallelism",
         "The maximum desired number of pods the job should run at any given time."},
        {"kube_job_spec_completions",
         "The desired number of successfully finished pods the job should be run with."},
    };
    s_objects (c, HS_KIND_DEPLOYMENT, "deployment", in->deployments, in->n_deployments, deploy,
               HS_ARRAY_LEN (deploy));
    s_objects (c, HS_KIND_REPLICASET, "replicaset", in->replicasets, in->n_replicasets, rs,
               HS_ARRAY_LEN (rs));
    s_objects (c, HS_KIND_JOB, "job_name", in->jobs, in->n_jobs, job, HS_ARRAY_LEN (job));
    s_hpas (c, in);
}

/* ------------------------------------------------------------------ the page */

void metrics_render (const metrics_input_t *in, hs_buf_t *out)
{
    s_ctx_t c = {.out = out};
    /* some 2 KiB a pod: grow once rather than double from nothing */
    size_t want = out->len + 4096 + 2500 * in->n_pods + 200 * in->n_members + 1000 * in->n_nodes;
    if (out->cap < want) {
        out->data = hs_realloc (out->data, want);
        out->cap = want;
    }
    s_system (&c, in);
    s_nodes (&c, in);
    s_node_usage (&c, in);
    s_container_usage (&c, in);
    s_pods (&c, in);
    s_workloads (&c, in);
    for (size_t i = 0; i < c.n_seen; i++) free (c.seen[i]);
    free (c.seen);
    hs_buf_append (out, "", 0); /* the NUL the pieces did not write */
}
