/*  hs_metric.c: latency histograms and heartbeat metric fields (hs_metric.h). */
#include "hs_metric.h"
#include "hs_util.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

const double hs_hist_default_bounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                         0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                         0.5,     1,      2.5,     5,      10};
const size_t hs_hist_default_n = HS_ARRAY_LEN (hs_hist_default_bounds);

struct hs_hist_t {
    char *name;
    size_t n;
    double bounds[HS_HIST_MAX_BOUNDS];
    int64_t bounds_ns[HS_HIST_MAX_BOUNDS];    /* what observe compares with */
    uint64_t buckets[HS_HIST_MAX_BOUNDS + 1]; /* per bucket, the last one +Inf */
    uint64_t count;
    uint64_t sum_ns; /* exact; seconds only on the way out */
};

hs_hist_t *hs_hist_new (const char *name, const double *bounds, size_t n)
{
    if (!bounds) {
        bounds = hs_hist_default_bounds;
        n = hs_hist_default_n;
    }
    assert (name && n > 0 && n <= HS_HIST_MAX_BOUNDS);
    hs_hist_t *self = hs_calloc (1, sizeof *self);
    self->name = hs_strdup (name);
    self->n = n;
    for (size_t i = 0; i < n; i++) {
        assert (isfinite (bounds[i]) && bounds[i] > 0 && (i == 0 || bounds[i] > bounds[i - 1]));
        self->bounds[i] = bounds[i];
        /* an observation of exactly the bound (in ns) belongs to its bucket */
        self->bounds_ns[i] = (int64_t)llround (bounds[i] * 1e9);
    }
    return self;
}

void hs_hist_destroy (hs_hist_t **self_p)
{
    if (!self_p || !*self_p) return;
    free ((*self_p)->name);
    free (*self_p);
    *self_p = NULL;
}

void hs_hist_observe (hs_hist_t *self, int64_t ns)
{
    if (ns < 0) ns = 0;
    /* the first bound >= ns (le: "less than or equal"); n when none is */
    size_t lo = 0, hi = self->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (self->bounds_ns[mid] < ns)
            lo = mid + 1;
        else
            hi = mid;
    }
    self->buckets[lo]++;
    self->count++;
    self->sum_ns += (uint64_t)ns;
}

int64_t hs_hist_since (hs_hist_t *self, int64_t start_mono)
{
    int64_t now = hs_mono_ns ();
    hs_hist_observe (self, now - start_mono);
    return now;
}

const char *hs_hist_name (const hs_hist_t *self)
{
    return self->name;
}

size_t hs_hist_n_bounds (const hs_hist_t *self)
{
    return self->n;
}

const double *hs_hist_bounds (const hs_hist_t *self)
{
    return self->bounds;
}

uint64_t hs_hist_count (const hs_hist_t *self)
{
    return self->count;
}

double hs_hist_sum (const hs_hist_t *self)
{
    return (double)self->sum_ns / 1e9;
}

uint64_t hs_hist_cumulative (const hs_hist_t *self, size_t i)
{
    if (i >= self->n) return self->count;
    uint64_t c = 0;
    for (size_t k = 0; k <= i; k++) c += self->buckets[k];
    return c;
}

/* ------------------------------------------------------------------ heartbeats */

void hs_metric_histograms (Hs__Histogram ***field, size_t *n_field, hs_hist_pb_t *room,
                           Hs__Histogram **ptrs, hs_hist_t *const *hists, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hs_hist_t *h = hists[i];
        Hs__Histogram *pb = &room[i].pb;
        hs__histogram__init (pb);
        pb->name = h->name;
        pb->bounds = h->bounds;
        pb->n_bounds = h->n;
        uint64_t c = 0;
        for (size_t k = 0; k < h->n; k++) {
            c += h->buckets[k];
            room[i].counts[k] = c;
        }
        pb->counts = room[i].counts;
        pb->n_counts = h->n;
        pb->sum = hs_hist_sum (h);
        pb->count = h->count;
        ptrs[i] = pb;
    }
    *field = ptrs;
    *n_field = n;
}

void hs_metric_gauges (Hs__Gauge ***field, size_t *n_field, Hs__Gauge *room, Hs__Gauge **ptrs,
                       const char *const *names, const double *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hs__gauge__init (&room[i]);
        room[i].name = (char *)names[i];
        room[i].value = values[i];
        ptrs[i] = &room[i];
    }
    *field = ptrs;
    *n_field = n;
}

void hs_metric_counters (Hs__Counter ***field, size_t *n_field, Hs__Counter *room,
                         Hs__Counter **ptrs, const char *const *names, const uint64_t *values,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hs__counter__init (&room[i]);
        room[i].name = (char *)names[i];
        room[i].value = values[i];
        ptrs[i] = &room[i];
    }
    *field = ptrs;
    *n_field = n;
}
