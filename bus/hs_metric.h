/*  hs_metric.h: what a heartbeat measures besides its counters
 *  (docs/protocol.md §8): fixed-bucket latency histograms, and helpers that
 *  point a heartbeat's counters, gauges and histograms at the caller's
 *  storage, so a heartbeat allocates nothing for them.
 *
 *  A histogram is Prometheus' kind: ascending upper bounds in seconds, a
 *  count per bucket, the count and sum of every observation. It is kept as
 *  per-bucket counts (an observation bumps one) and made cumulative only
 *  when it goes into a heartbeat (Hs__Histogram: counts[i] is the number of
 *  observations <= bounds[i], the +Inf bucket is count). Totals run from the
 *  process's start and are never reset: hs-metrics serves them as they are,
 *  and rate() in PromQL does the rest. Observations are nanoseconds, as
 *  hs_mono_ns gives them; a negative one (a clock that went back) is 0.
 *
 *  Not thread-safe: each daemon observes from its one loop thread.
 */
#ifndef HS_METRIC_H
#define HS_METRIC_H

#include <stddef.h>
#include <stdint.h>

#include "bus.pb-c.h"

#define HS_HIST_MAX_BOUNDS 32

/* The default bounds, seconds: 50 us to 10 s, finer than Prometheus'
 * client default (5 ms to 10 s) below a millisecond, where a store's
 * fdatasync and an ack on an idle machine fall. */
extern const double hs_hist_default_bounds[];
extern const size_t hs_hist_default_n;

typedef struct hs_hist_t hs_hist_t;

/* A histogram called name (copied: the heartbeat's name, e.g.
 * "ack_duration_seconds") over n bounds (seconds, copied; NULL: the
 * defaults). The bounds must be positive, finite and strictly ascending,
 * and n at most HS_HIST_MAX_BOUNDS: the caller's constants, asserted. */
hs_hist_t *hs_hist_new (const char *name, const double *bounds, size_t n);
void hs_hist_destroy (hs_hist_t **self_p); /* NULL-safe, NULLs *self_p */

/* Counts one observation of ns nanoseconds. */
void hs_hist_observe (hs_hist_t *self, int64_t ns);
/* hs_hist_observe of the time since start_mono (hs_mono_ns) until now;
 * returns now (hs_mono_ns), for the next span. */
int64_t hs_hist_since (hs_hist_t *self, int64_t start_mono);

const char *hs_hist_name (const hs_hist_t *self);
size_t hs_hist_n_bounds (const hs_hist_t *self);
const double *hs_hist_bounds (const hs_hist_t *self);
/* Observations so far, and their sum in seconds. */
uint64_t hs_hist_count (const hs_hist_t *self);
double hs_hist_sum (const hs_hist_t *self);
/* Observations <= bound i (cumulative); i == n_bounds: the count. */
uint64_t hs_hist_cumulative (const hs_hist_t *self, size_t i);

/* ------------------------------------------------------------------ heartbeats */

/* Room for one histogram in a heartbeat: the message and its cumulative
 * counts. Its name and bounds point into the hs_hist_t, which must outlive
 * the heartbeat's publishing. */
typedef struct {
    Hs__Histogram pb;
    uint64_t counts[HS_HIST_MAX_BOUNDS];
} hs_hist_pb_t;

/* Points a heartbeat's histograms field (*field, *n_field: ComponentHeartbeat's
 * or StoreHeartbeat's histograms and n_histograms) at n histograms as they
 * are now, in the caller's room (n entries each). Before a heartbeat from
 * hs_pb_new is freed, set *field NULL and *n_field 0. */
void hs_metric_histograms (Hs__Histogram ***field, size_t *n_field, hs_hist_pb_t *room,
                           Hs__Histogram **ptrs, hs_hist_t *const *hists, size_t n);
/* The same for gauges: n names (borrowed) and values. */
void hs_metric_gauges (Hs__Gauge ***field, size_t *n_field, Hs__Gauge *room, Hs__Gauge **ptrs,
                       const char *const *names, const double *values, size_t n);
/* The same for counters (hs_heartbeat_counters for any heartbeat). */
void hs_metric_counters (Hs__Counter ***field, size_t *n_field, Hs__Counter *room,
                         Hs__Counter **ptrs, const char *const *names, const uint64_t *values,
                         size_t n);

#endif
