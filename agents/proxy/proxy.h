/*  proxy.h: the proxier, kube-proxy's syncProxyRules: what each Service
 *  wants (proxy_set, from the watch), what the kernel has (the model last
 *  applied), and the syncs that close the gap.
 *
 *    - A full sync re-creates `table ip homeostat` from every Service in one
 *      transaction (proxy_render_full): on the first sync, after any error,
 *      and every sync_period (it repairs whatever else touched the table),
 *      unless the netns's ruleset generation is still the one our last
 *      transaction made: then nothing, ours or anyone's, changed since, and
 *      the periodic one is skipped (ClientIP affinity state survives).
 *    - Otherwise a sync is incremental: only the Services marked since the
 *      last one, only their chains and map elements that differ
 *      (proxy_diff_service). Chains that are no longer used are flushed at
 *      once and deleted by a sync at least PROXY_STALE_NS later.
 *    - Syncs are debounced: one at most every min_sync_period.
 *    - A failed transaction is logged with nft's text (once per distinct
 *      message), counted, and retried as a full sync after a backoff (1 s,
 *      doubling to the sync period); nothing of it is half-applied.
 *    - Removed UDP endpoints get their conntrack entries deleted once the
 *      rules that no longer send to them are in (proxy_ct.h).
 *
 *  Two Services with one clusterIP (the store refuses that; a bad write
 *  could do it) must not fail every transaction: the first by key keeps the
 *  address, the other is left out and counted until a full sync finds the
 *  address free.
 */
#ifndef PROXY_H
#define PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy_render.h"

#define PROXY_STALE_NS (1000LL * 1000 * 1000)

typedef struct proxy_t proxy_t;

typedef struct {
    proxy_conf_t render;
    int64_t min_sync_ns; /* --min-sync-period */
    int64_t sync_ns;     /* --sync-period: full resync */
    bool no_conntrack;   /* do not touch conntrack (the bench) */
} proxy_opts_t;

typedef struct {
    uint64_t syncs_full, syncs_partial, sync_errors;
    uint64_t resyncs_skipped; /* periodic full syncs found nothing to repair */
    uint64_t ct_deleted, ct_errors;
    uint64_t skipped; /* Services left out: bad names, a clusterIP taken */
    int64_t last_sync_ns, last_render_ns, last_apply_ns; /* durations of the last sync */
} proxy_stats_t;

proxy_t *proxy_new (const proxy_opts_t *opts);
void proxy_destroy (proxy_t **self_p);

/* What Service key ("ns/name") wants now: svc (ownership passes; NULL: no
 * rules, the Service is gone or headless). Marks it for the next sync. */
void proxy_set (proxy_t *self, const char *key, proxy_svc_t *svc);
/* The next sync is a full one. */
void proxy_force_full (proxy_t *self);

/* Runs a sync if one is due at now (monotonic ns) and returns when the next
 * is due (HS_NEVER: none). A sync's failure is handled inside (see the
 * banner). */
int64_t proxy_work (proxy_t *self, int64_t now);
/* One sync now, whatever is due: 0, or -errno when nft refused it. */
int proxy_sync (proxy_t *self, bool full, int64_t now);

const proxy_stats_t *proxy_stats (const proxy_t *self);
size_t proxy_count (const proxy_t *self); /* Services with rules in the kernel */

#endif
