/*  test_metric.c: latency histograms and heartbeat metric fields (bus/hs_metric). */
#include "hs_metric.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_util.h"

#include <math.h>
#include <stdlib.h>

#define MS 1000000LL
#define US 1000LL

static void test_buckets (void)
{
    const double b[] = {0.001, 0.01, 0.1};
    hs_hist_t *h = hs_hist_new ("x_seconds", b, 3);
    CHECK_EQ_STR (hs_hist_name (h), "x_seconds");
    CHECK_EQ_INT (hs_hist_n_bounds (h), 3);
    CHECK_EQ_INT (hs_hist_count (h), 0);
    CHECK_EQ_INT (hs_hist_cumulative (h, 0), 0);
    CHECK_EQ_INT (hs_hist_cumulative (h, 3), 0);
    /* le: a value exactly on a bound belongs to that bound's bucket */
    hs_hist_observe (h, 0);            /* <= 1 ms */
    hs_hist_observe (h, 1 * MS);       /* <= 1 ms */
    hs_hist_observe (h, 1 * MS + 1);   /* <= 10 ms */
    hs_hist_observe (h, 10 * MS);      /* <= 10 ms */
    hs_hist_observe (h, 50 * MS);      /* <= 100 ms */
    hs_hist_observe (h, 100 * MS + 1); /* +Inf only */
    hs_hist_observe (h, 3600000 * MS); /* an hour: +Inf only */
    hs_hist_observe (h, -5 * MS);      /* a clock going back: 0 */
    CHECK_EQ_INT (hs_hist_count (h), 8);
    CHECK_EQ_INT (hs_hist_cumulative (h, 0), 3);
    CHECK_EQ_INT (hs_hist_cumulative (h, 1), 5);
    CHECK_EQ_INT (hs_hist_cumulative (h, 2), 6);
    CHECK_EQ_INT (hs_hist_cumulative (h, 3), 8);
    CHECK_EQ_INT (hs_hist_cumulative (h, 99), 8);
    double want = (0 + 1e6 + 1e6 + 1 + 1e7 + 5e7 + 1e8 + 1 + 3.6e12) / 1e9;
    CHECK (fabs (hs_hist_sum (h) - want) < 1e-9);
    hs_hist_destroy (&h);
    CHECK (h == NULL);
    hs_hist_destroy (&h); /* NULL-safe */
    hs_hist_destroy (NULL);
}

static void test_defaults (void)
{
    hs_hist_t *h = hs_hist_new ("fsync_duration_seconds", NULL, 0);
    CHECK_EQ_INT (hs_hist_n_bounds (h), hs_hist_default_n);
    const double *b = hs_hist_bounds (h);
    CHECK (b[0] == 0.00005);
    CHECK (b[hs_hist_default_n - 1] == 10);
    for (size_t i = 1; i < hs_hist_default_n; i++) CHECK (b[i] > b[i - 1]);
    /* every bound takes what equals it, not what is 1 ns above it: after
     * bound i, i + 1 observations on bounds and i one ns above the bounds
     * before it are <= bound i */
    for (size_t i = 0; i < hs_hist_default_n; i++) {
        int64_t ns = (int64_t)llround (b[i] * 1e9);
        hs_hist_observe (h, ns);
        CHECK_EQ_INT (hs_hist_cumulative (h, i), 2 * i + 1);
        hs_hist_observe (h, ns + 1);
        CHECK_EQ_INT (hs_hist_cumulative (h, i), 2 * i + 1);
        CHECK_EQ_INT (hs_hist_cumulative (h, i + 1), 2 * i + 2);
        CHECK_EQ_INT (hs_hist_count (h), 2 * (i + 1));
    }
    /* since: observes a span that is >= 0 and returns a later clock */
    int64_t t0 = hs_mono_ns ();
    int64_t t1 = hs_hist_since (h, t0);
    CHECK (t1 >= t0);
    CHECK_EQ_INT (hs_hist_count (h), 2 * hs_hist_default_n + 1);
    hs_hist_destroy (&h);
}

/* Many observations: each lands in exactly one bucket; cumulative counts
 * ascend and end at count. */
static void test_many (void)
{
    hs_hist_t *h = hs_hist_new ("many_seconds", NULL, 0);
    uint64_t rng = 88172645463325252ULL;
    uint64_t want_le_1ms = 0;
    for (int i = 0; i < 100000; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        int64_t ns = (int64_t)(rng % (20000 * MS)); /* 0..20 s */
        if (i % 2) ns %= 2 * MS;                    /* half of them under 2 ms */
        if (ns <= 1 * MS) want_le_1ms++;
        hs_hist_observe (h, ns);
    }
    CHECK_EQ_INT (hs_hist_count (h), 100000);
    CHECK_EQ_INT (hs_hist_cumulative (h, 4), want_le_1ms); /* bound 4 is 1 ms */
    for (size_t i = 1; i <= hs_hist_n_bounds (h); i++)
        CHECK (hs_hist_cumulative (h, i) >= hs_hist_cumulative (h, i - 1));
    hs_hist_destroy (&h);
}

/* A heartbeat's fields, packed and read back as hs-metrics reads them. */
static void test_heartbeat (void)
{
    const double b[] = {0.0005, 0.005};
    hs_hist_t *a = hs_hist_new ("ack_duration_seconds", b, 2);
    hs_hist_t *f = hs_hist_new ("fsync_duration_seconds", NULL, 0);
    hs_hist_observe (a, 100 * US);
    hs_hist_observe (a, 200 * US);
    hs_hist_observe (a, 3 * MS);
    hs_hist_observe (a, 7 * MS);
    hs_hist_observe (f, 2 * MS);

    Hs__StoreHeartbeat hb = HS__STORE_HEARTBEAT__INIT;
    hs_hist_t *hists[] = {a, f};
    hs_hist_pb_t room[2];
    Hs__Histogram *hp[2];
    hs_metric_histograms (&hb.histograms, &hb.n_histograms, room, hp, hists, 2);
    const char *gn[] = {"queue_depth"};
    const double gv[] = {42};
    Hs__Gauge gs[1], *gp[1];
    hs_metric_gauges (&hb.gauges, &hb.n_gauges, gs, gp, gn, gv, 1);
    const char *cn[] = {"checkpoints", "acks_conflict"};
    const uint64_t cv[] = {7, 3};
    Hs__Counter cs[2], *cp[2];
    hs_metric_counters (&hb.counters, &hb.n_counters, cs, cp, cn, cv, 2);

    size_t len = protobuf_c_message_get_packed_size (&hb.base);
    uint8_t *buf = hs_malloc (len);
    protobuf_c_message_pack (&hb.base, buf);
    /* observing after the heartbeat was made changes nothing in it */
    hs_hist_observe (a, 1 * US);
    Hs__StoreHeartbeat *got = hs__store_heartbeat__unpack (NULL, len, buf);
    free (buf);
    CHECK (got != NULL);
    if (got) {
        CHECK_EQ_INT (got->n_histograms, 2);
        const Hs__Histogram *g = got->histograms[0];
        CHECK_EQ_STR (g->name, "ack_duration_seconds");
        CHECK_EQ_INT (g->n_bounds, 2);
        CHECK_EQ_INT (g->n_counts, 2);
        CHECK (g->bounds[0] == 0.0005 && g->bounds[1] == 0.005);
        CHECK_EQ_INT (g->counts[0], 2);
        CHECK_EQ_INT (g->counts[1], 3);
        CHECK_EQ_INT (g->count, 4);
        CHECK (fabs (g->sum - 0.0103) < 1e-12);
        g = got->histograms[1];
        CHECK_EQ_STR (g->name, "fsync_duration_seconds");
        CHECK_EQ_INT (g->n_bounds, hs_hist_default_n);
        CHECK_EQ_INT (g->count, 1);
        CHECK_EQ_INT (g->counts[4], 0); /* <= 1 ms */
        CHECK_EQ_INT (g->counts[5], 1); /* <= 2.5 ms */
        CHECK_EQ_INT (g->counts[hs_hist_default_n - 1], 1);
        CHECK_EQ_INT (got->n_gauges, 1);
        CHECK_EQ_STR (got->gauges[0]->name, "queue_depth");
        CHECK (got->gauges[0]->value == 42);
        CHECK_EQ_INT (got->n_counters, 2);
        CHECK_EQ_STR (got->counters[1]->name, "acks_conflict");
        CHECK_EQ_INT (got->counters[1]->value, 3);
        hs__store_heartbeat__free_unpacked (got, NULL);
    }
    CHECK_EQ_INT (hs_hist_count (a), 5);
    /* a ComponentHeartbeat takes the same fields */
    Hs__ComponentHeartbeat ch = HS__COMPONENT_HEARTBEAT__INIT;
    hs_metric_histograms (&ch.histograms, &ch.n_histograms, room, hp, hists, 1);
    CHECK_EQ_INT (ch.n_histograms, 1);
    CHECK_EQ_INT (ch.histograms[0]->count, 5);
    CHECK_EQ_INT (ch.histograms[0]->counts[0], 3);
    hs_hist_destroy (&a);
    hs_hist_destroy (&f);
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"buckets", test_buckets},
        {"defaults", test_defaults},
        {"many", test_many},
        {"heartbeat", test_heartbeat},
    };
    return HS_TEST_RUN (tests);
}
