/*  tap_stats.c: per-group counters and the --stats table. */
#include "tap_stats.h"
#include "hs_util.h"

#include <stdio.h>
#include <string.h>

/* Groups are bounded: a bus flooded with junk topics must not grow us without
 * limit; past this many, new groups are counted under "(other)". */
#define MAX_GROUPS 256

typedef struct {
    char *name;
    uint64_t msgs, bytes;             /* this interval */
    uint64_t total_msgs, total_bytes; /* since the start */
    uint64_t garbage;                 /* since the start */
} s_group_t;

struct tap_stats_t {
    s_group_t *groups;
    size_t n;
};

tap_stats_t *tap_stats_new (void)
{
    return hs_calloc (1, sizeof (tap_stats_t));
}

void tap_stats_destroy (tap_stats_t **self_p)
{
    tap_stats_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->n; i++) free (self->groups[i].name);
    free (self->groups);
    free (self);
    *self_p = NULL;
}

static s_group_t *s_find (tap_stats_t *self, const char *name)
{
    for (size_t i = 0; i < self->n; i++)
        if (strcmp (self->groups[i].name, name) == 0) return &self->groups[i];
    return NULL;
}

static s_group_t *s_group (tap_stats_t *self, const char *name)
{
    s_group_t *g = s_find (self, name);
    if (g) return g;
    /* The last slot is kept for "(other)". */
    if (self->n + 1 >= MAX_GROUPS && strcmp (name, "(other)") != 0)
        return s_group (self, "(other)");
    self->groups = hs_realloc (self->groups, (self->n + 1) * sizeof *self->groups);
    g = &self->groups[self->n++];
    *g = (s_group_t){.name = hs_strdup (name)};
    return g;
}

void tap_stats_add (tap_stats_t *self, const char *group, size_t bytes, bool garbage)
{
    s_group_t *g = s_group (self, group);
    g->msgs++;
    g->bytes += bytes;
    g->total_msgs++;
    g->total_bytes += bytes;
    if (garbage) g->garbage++;
}

static int s_cmp (const void *a, const void *b)
{
    return strcmp (((const s_group_t *)a)->name, ((const s_group_t *)b)->name);
}

/* "12.3K" style, so columns stay narrow. */
static const char *s_human (double v, char *buf, size_t len)
{
    if (v < 10000)
        snprintf (buf, len, "%.0f", v);
    else if (v < 10e6)
        snprintf (buf, len, "%.1fK", v / 1e3);
    else if (v < 10e9)
        snprintf (buf, len, "%.1fM", v / 1e6);
    else
        snprintf (buf, len, "%.1fG", v / 1e9);
    return buf;
}

static void s_row (hs_buf_t *b, const char *name, double secs, uint64_t msgs, uint64_t bytes,
                   uint64_t total_msgs, uint64_t total_bytes, uint64_t garbage)
{
    char m[32], by[32], tm[32], tb[32];
    hs_buf_printf (b, "%-24s %10s %10s %12s %12s %8llu\n", name, s_human (msgs / secs, m, sizeof m),
                   s_human (bytes / secs, by, sizeof by),
                   s_human ((double)total_msgs, tm, sizeof tm),
                   s_human ((double)total_bytes, tb, sizeof tb), (unsigned long long)garbage);
}

char *tap_stats_take (tap_stats_t *self, int64_t interval_ns)
{
    double secs = interval_ns > 0 ? interval_ns / 1e9 : 1.0;
    qsort (self->groups, self->n, sizeof *self->groups, s_cmp);
    hs_buf_t b = {0};
    hs_buf_printf (&b, "%-24s %10s %10s %12s %12s %8s\n", "GROUP", "MSGS/S", "BYTES/S", "MSGS",
                   "BYTES", "GARBAGE");
    uint64_t m = 0, by = 0, tm = 0, tb = 0, g = 0;
    for (size_t i = 0; i < self->n; i++) {
        s_group_t *x = &self->groups[i];
        s_row (&b, x->name, secs, x->msgs, x->bytes, x->total_msgs, x->total_bytes, x->garbage);
        m += x->msgs;
        by += x->bytes;
        tm += x->total_msgs;
        tb += x->total_bytes;
        g += x->garbage;
        x->msgs = x->bytes = 0;
    }
    s_row (&b, "TOTAL", secs, m, by, tm, tb, g);
    return hs_buf_take (&b);
}
