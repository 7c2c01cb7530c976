/*  hs_usage.c: the latest NodeUsage per node, and Kubernetes' quantity and
 *  duration texts for it (bus/hs_usage.h).
 *
 *  The table is a sorted array of nodes (binary search): a cluster has
 *  thousands of nodes at most and each sample replaces one entry.
 */
#include "hs_usage.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000LL

typedef struct {
    char *node;
    Hs__NodeUsage *u;
    int64_t received;
} s_entry_t;

struct hs_usage_table {
    s_entry_t *e;
    size_t n, cap;
    uint64_t refused;
};

int64_t hs_usage_stale_ns (uint32_t interval_ms)
{
    int64_t ns = 3 * (int64_t)interval_ms * 1000000LL;
    return ns < 3 * NS_PER_S ? 3 * NS_PER_S : ns;
}

hs_usage_table_t *hs_usage_table_new (void)
{
    return hs_calloc (1, sizeof (hs_usage_table_t));
}

void hs_usage_table_destroy (hs_usage_table_t **self_p)
{
    hs_usage_table_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->n; i++) {
        free (self->e[i].node);
        hs_pb_free (self->e[i].u);
    }
    free (self->e);
    free (self);
    *self_p = NULL;
}

/* The index of node, or where it would go (*found false). */
static size_t s_find (const hs_usage_table_t *self, const char *node, bool *found)
{
    size_t lo = 0, hi = self->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp (self->e[mid].node, node);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

int hs_usage_table_put (hs_usage_table_t *self, const char *topic, const Hs__NodeUsage *u,
                        int64_t now_ns)
{
    size_t nl = u && u->node ? strlen (u->node) : 0;
    if (nl == 0 || !topic || strncmp (topic, "usage.", 6) != 0 ||
        strncmp (topic + 6, u->node, nl) != 0 || strcmp (topic + 6 + nl, "/") != 0) {
        self->refused++;
        return -EINVAL;
    }
    bool found;
    size_t i = s_find (self, u->node, &found);
    if (found) {
        /* Whatever its timestamp: one agent publishes a node's topic over
         * one connection, in order, and its clock may have stepped back. */
        s_entry_t *e = &self->e[i];
        hs_pb_free (e->u);
        e->u = hs_pb_dup (u);
        e->received = now_ns;
        return 1;
    }
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 16;
        self->e = hs_realloc (self->e, self->cap * sizeof *self->e);
    }
    memmove (&self->e[i + 1], &self->e[i], (self->n - i) * sizeof *self->e);
    self->e[i] = (s_entry_t){hs_strdup (u->node), hs_pb_dup (u), now_ns};
    self->n++;
    return 1;
}

const Hs__NodeUsage *hs_usage_table_last (hs_usage_table_t *self, const char *node,
                                          int64_t *ret_received_ns)
{
    bool found;
    size_t i = s_find (self, hs_s (node), &found);
    if (!found) return NULL;
    if (ret_received_ns) *ret_received_ns = self->e[i].received;
    return self->e[i].u;
}

const Hs__NodeUsage *hs_usage_table_node (hs_usage_table_t *self, const char *node, int64_t now_ns)
{
    int64_t at = 0;
    const Hs__NodeUsage *u = hs_usage_table_last (self, node, &at);
    if (!u || u->window_ms == 0 || now_ns - at > hs_usage_stale_ns (u->interval_ms)) return NULL;
    return u;
}

/* When the pod's newest container started (INT64_MIN: none). */
static int64_t s_started (const Hs__PodUsage *p)
{
    int64_t t = INT64_MIN;
    for (size_t i = 0; i < p->n_containers; i++)
        if (p->containers[i]->started_at > t) t = p->containers[i]->started_at;
    return t;
}

const Hs__PodUsage *hs_usage_table_pod (hs_usage_table_t *self, const char *node, const char *ns,
                                        const char *name, const char *uid, int64_t now_ns)
{
    const Hs__NodeUsage *u = hs_usage_table_node (self, node, now_ns);
    const Hs__PodUsage *best = NULL;
    int64_t best_started = INT64_MIN;
    for (size_t i = 0; u && i < u->n_pods; i++) {
        const Hs__PodUsage *p = u->pods[i];
        if (!hs_streq (p->namespace_, ns) || !hs_streq (p->name, name)) continue;
        if (!hs_empty (uid) && hs_streq (p->uid, uid)) return p;
        int64_t started = s_started (p);
        if (!best || started > best_started) best = p, best_started = started;
    }
    return best;
}

size_t hs_usage_table_size (const hs_usage_table_t *self)
{
    return self->n;
}

uint64_t hs_usage_table_refused (const hs_usage_table_t *self)
{
    return self->refused;
}

void hs_usage_pod_totals (const Hs__PodUsage *p, uint64_t *ret_nanocores, int64_t *ret_ws_bytes)
{
    uint64_t cpu = 0;
    int64_t mem = 0;
    for (size_t i = 0; p && i < p->n_containers; i++) {
        uint64_t c = p->containers[i]->cpu_usage_nanocores;
        cpu = cpu + c < cpu ? UINT64_MAX : cpu + c;
        int64_t m = p->containers[i]->memory_working_set_bytes;
        mem = hs_sat_add (mem, m > 0 ? m : 0);
    }
    *ret_nanocores = cpu;
    *ret_ws_bytes = mem;
}

/* ------------------------------------------------------------ formats */

/* v x 10^exp, canonical: trailing zeros taken out in threes (Kubernetes'
 * int64Amount.AsCanonicalBytes for DecimalSI). */
static char *s_decimal (uint64_t v, int exp)
{
    if (v == 0) return hs_strdup ("0");
    while (v % 1000 == 0 && exp < 18) {
        v /= 1000;
        exp += 3;
    }
    static const struct {
        int exp;
        const char *suffix;
    } sfx[] = {{-9, "n"}, {-6, "u"}, {-3, "m"}, {0, ""},   {3, "k"},
               {6, "M"},  {9, "G"},  {12, "T"}, {15, "P"}, {18, "E"}};
    for (size_t i = 0; i < HS_ARRAY_LEN (sfx); i++)
        if (sfx[i].exp == exp) return hs_sprintf ("%llu%s", (unsigned long long)v, sfx[i].suffix);
    return hs_sprintf ("%llue%d", (unsigned long long)v, exp);
}

char *hs_usage_fmt_nanocores (uint64_t nanocores)
{
    /* metrics-server's uint64Quantity: over int64, one digit less */
    if (nanocores > INT64_MAX) nanocores -= nanocores % 10;
    return s_decimal (nanocores, -9);
}

char *hs_usage_fmt_bytes (int64_t bytes)
{
    if (bytes < 0) bytes = 0;
    if (bytes < 1024) return s_decimal ((uint64_t)bytes, 0);
    static const char *const sfx[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    size_t e = 0;
    while (bytes % 1024 == 0 && e + 1 < HS_ARRAY_LEN (sfx)) {
        bytes /= 1024;
        e++;
    }
    return hs_sprintf ("%lld%s", (long long)bytes, sfx[e]);
}

/* Go's fmtFrac: v / 10^prec with the fraction's trailing zeros dropped. */
static void s_frac (hs_buf_t *b, uint64_t v, int prec)
{
    uint64_t div = 1;
    for (int i = 0; i < prec; i++) div *= 10;
    hs_buf_printf (b, "%llu", (unsigned long long)(v / div));
    uint64_t f = v % div;
    if (f == 0) return;
    int digits = prec;
    while (f % 10 == 0) {
        f /= 10;
        digits--;
    }
    hs_buf_printf (b, ".%0*llu", digits, (unsigned long long)f);
}

char *hs_usage_fmt_duration (int64_t ns)
{
    hs_buf_t b = {0};
    uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    if (ns < 0) hs_buf_puts (&b, "-");
    if (u == 0) {
        hs_buf_puts (&b, "0s");
    } else if (u < 1000) {
        hs_buf_printf (&b, "%lluns", (unsigned long long)u);
    } else if (u < 1000000) {
        s_frac (&b, u, 3);
        hs_buf_puts (&b, "\xc2\xb5s"); /* µs, as Go writes it */
    } else if (u < (uint64_t)NS_PER_S) {
        s_frac (&b, u, 6);
        hs_buf_puts (&b, "ms");
    } else {
        uint64_t s = u / NS_PER_S, h = s / 3600, m = s / 60 % 60;
        if (h) hs_buf_printf (&b, "%lluh", (unsigned long long)h);
        if (h || m) hs_buf_printf (&b, "%llum", (unsigned long long)m);
        s_frac (&b, u % (60ULL * NS_PER_S), 9);
        hs_buf_puts (&b, "s");
    }
    return hs_buf_take (&b);
}

char *hs_usage_top_cpu (uint64_t nanocores)
{
    /* Quantity.MilliValue rounds up */
    return hs_sprintf ("%llum",
                       (unsigned long long)(nanocores / 1000000 + (nanocores % 1000000 != 0)));
}

char *hs_usage_top_mem (int64_t bytes)
{
    return hs_sprintf ("%lldMi", (long long)((bytes > 0 ? bytes : 0) / (1024 * 1024)));
}
